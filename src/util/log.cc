// Log lines: one mutex so lines from the capture and the trigger threads never interleave.
#include "util/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace binlake::log {
namespace {

std::atomic<Format> g_format{Format::kText};
std::mutex g_mu;
bool g_progress_shown = false;  // a bar is on the terminal's last line (guarded by g_mu)

bool StderrIsTty() {
  static const bool tty = isatty(STDERR_FILENO) != 0;
  return tty;
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void SetFormat(Format format) { g_format.store(format); }
Format GetFormat() { return g_format.load(); }

bool ParseFormat(std::string_view text, Format* format) {
  if (text == "text") {
    *format = Format::kText;
  } else if (text == "json") {
    *format = Format::kJson;
  } else {
    return false;
  }
  return true;
}

std::string JsonLine(std::string_view level, std::string_view message, int64_t unix_ms) {
  const time_t secs = static_cast<time_t>(unix_ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char ts[96];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  std::string out = "{\"ts\":\"";
  out.append(ts).append("\",\"level\":");
  AppendJsonString(level, &out);
  out.append(",\"msg\":");
  AppendJsonString(message, &out);
  out.append("}\n");
  return out;
}

void Line(std::string_view level, std::string_view message) {
  std::string text;
  if (GetFormat() == Format::kJson) {
    text = JsonLine(level, message, NowUnixMs());
  } else {
    text = "binlake: ";
    if (level == "warning") text += "warning: ";
    text.append(message).push_back('\n');
  }
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_progress_shown) std::fputs("\r\033[K", stderr);
  g_progress_shown = false;
  std::fputs(text.c_str(), stderr);
}

void Progress(std::string_view line) {
  if (!ProgressShown()) return;
  std::lock_guard<std::mutex> lock(g_mu);
  std::fprintf(stderr, "\r\033[K%.*s", static_cast<int>(line.size()), line.data());
  g_progress_shown = true;
}

void EndProgress() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_progress_shown) std::fputs("\n", stderr);
  g_progress_shown = false;
}

bool ProgressShown() { return GetFormat() == Format::kText && StderrIsTty(); }

std::string Bar(double fraction) {
  const int filled = static_cast<int>(std::min(1.0, std::max(0.0, fraction)) * 20);
  return "[" + std::string(static_cast<size_t>(filled), '#') +
         std::string(static_cast<size_t>(20 - filled), '.') + "]";
}

}  // namespace binlake::log
