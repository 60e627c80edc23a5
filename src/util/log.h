// binlake's log lines on stderr: "binlake: <message>" for people, or one JSON object per line
// (--log-format json) for log shippers; progress bars only on a terminal in the text format.
#pragma once

#include <string>
#include <string_view>

namespace binlake::log {

enum class Format { kText, kJson };

// Process-wide; set once at start (binlake --log-format json ...).
void SetFormat(Format format);
Format GetFormat();
// "text" or "json"; false for anything else.
bool ParseFormat(std::string_view text, Format* format);

// One line per event worth knowing. `level` is "info", "warning" or "error"; the text format
// prefixes warnings with "warning: " (as the apply always did) and nothing else.
void Line(std::string_view level, std::string_view message);
inline void Info(std::string_view message) { Line("info", message); }
inline void Warn(std::string_view message) { Line("warning", message); }
inline void Error(std::string_view message) { Line("error", message); }

// A progress bar redrawn in place: shown only when stderr is a terminal and the format is text
// (a log file gets the summary lines instead). The next Line() clears it first.
void Progress(std::string_view line);
// Ends a progress bar that is shown (a newline), so output that follows starts on its own line.
void EndProgress();
// True when progress bars are drawn (stderr is a terminal, text format).
bool ProgressShown();
// A 20-character bar for a fraction 0..1: "[#########...........]".
std::string Bar(double fraction);

// The JSON-lines record of a line: {"ts":"2026-12-06T08:00:00.123Z","level":..,"msg":..}.
std::string JsonLine(std::string_view level, std::string_view message, int64_t unix_ms);

}  // namespace binlake::log
