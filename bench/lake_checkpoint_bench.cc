// Apply latency of a one-row change file on a Delta table with many versions, with and without
// log checkpoints: the same table, the same files, one lake with `_delta_log` checkpoints and a
// copy without them (every apply then replays the whole JSON log).
// usage: lake_checkpoint_bench [--versions N] [--rows R] [--samples K] [--dir DIR]
//   (prints one JSON object on stdout; docs/benchmarks.md)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "lake/lake.h"
#include "staging/staging.h"

namespace {

namespace fs = std::filesystem;
using binlake::Status;
using Clock = std::chrono::steady_clock;

void Die(const std::string& what, const Status& st) {
  std::fprintf(stderr, "lake_checkpoint_bench: %s: %s\n", what.c_str(), st.ToString().c_str());
  std::exit(1);
}

double Ms(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

binlake::staging::SourcePosition Pos(uint64_t p) { return {"binlog.000001", p, ""}; }

}  // namespace

int main(int argc, char** argv) {
  int versions = 2000, rows = 10000, samples = 21;
  std::string dir = (fs::temp_directory_path() / "binlake-lake-bench").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--versions") {
      versions = std::stoi(argv[i + 1]);
    } else if (a == "--rows") {
      rows = std::stoi(argv[i + 1]);
    } else if (a == "--samples") {
      samples = std::stoi(argv[i + 1]);
    } else if (a == "--dir") {
      dir = argv[i + 1];
    }
  }
  fs::remove_all(dir);
  const std::string staging = dir + "/staging", with_cp = dir + "/lake-checkpoints",
                    without_cp = dir + "/lake-json-only";

  // Staging: a LOAD of `rows` rows, then one single-row update per change file.
  auto st = binlake::staging::Staging::Open(staging, binlake::staging::CsvOptions{},
                                            binlake::staging::FlushPolicy{});
  if (!st.ok()) Die("staging", st.status());
  binlake::staging::TableSchema schema;
  schema.schema = "db";
  schema.table = "t";
  for (const char* c : {"id", "name", "amount"}) {
    binlake::staging::ColumnSchema col;
    col.name = c;
    col.mysql_type = std::string(c) == "id"     ? "int"
                     : c == std::string("name") ? "varchar(40)"
                                                : "decimal(12,2)";
    col.pk_position = std::string(c) == "id" ? 0 : -1;
    schema.columns.push_back(col);
  }
  if (auto v = (*st)->RegisterSchema(schema, Pos(4)); !v.ok()) Die("schema", v.status());
  auto w = (*st)->BeginLoad("db", "t", Pos(4));
  if (!w.ok()) Die("load", w.status());
  for (int i = 1; i <= rows; i++) {
    const std::string id = std::to_string(i), name = "name-" + id, amount = id + ".25";
    const binlake::staging::Cell cells[] = {{false, id}, {false, name}, {false, amount}};
    if (Status s = (*w)->AppendRow(cells); !s.ok()) Die("load row", s);
  }
  if (Status s = (*w)->Finish(); !s.ok()) Die("load", s);
  if (Status s = (*st)->FinishFullLoad(Pos(4)); !s.ok()) Die("load", s);
  const auto t_stage = Clock::now();
  for (int i = 1; i <= versions + samples; i++) {
    const uint64_t p = 100 + 10 * static_cast<uint64_t>(i);
    const std::string id = std::to_string((i * 7919) % rows + 1), name = "v" + std::to_string(i),
                      amount = "1.00";
    const binlake::staging::Cell cells[] = {{false, id}, {false, name}, {false, amount}};
    Status s = (*st)->BeginTransaction(Pos(p), 1700000000000000ULL + p);
    if (s.ok()) s = (*st)->Append("db", "t", 'U', cells);
    if (s.ok()) s = (*st)->Commit(Pos(p + 1));
    if (s.ok()) s = (*st)->Flush(p);
    if (!s.ok()) Die("change file", s);
  }
  std::vector<std::string> load, changes;
  for (const auto& e : fs::directory_iterator(staging + "/db/t")) {
    const std::string n = e.path().filename().string();
    if (!n.ends_with(".csv")) continue;
    (n.starts_with("LOAD") ? load : changes).push_back(e.path().string());
  }
  std::sort(changes.begin(), changes.end());
  std::fprintf(stderr, "staged %zu change files in %.1f s\n", changes.size(), Ms(t_stage) / 1000);

  // The table to `versions` versions, with checkpoints (every 100); the copy without them.
  binlake::lake::ApplyOptions o;
  o.lake = with_cp;
  o.warn = [](const std::string&) {};
  const auto t_build = Clock::now();
  std::vector<std::string> first(load);
  first.insert(first.end(), changes.begin(), changes.begin() + versions);
  auto built = binlake::lake::ApplyFiles(o, first);
  if (!built.ok()) Die("build", built.status());
  std::fprintf(stderr, "built %d versions in %.1f s\n", built->commits, Ms(t_build) / 1000);
  fs::copy(with_cp, without_cp, fs::copy_options::recursive);
  for (const auto& e : fs::directory_iterator(without_cp + "/db/t/_delta_log")) {
    const std::string n = e.path().filename().string();
    if (n.find("checkpoint") != std::string::npos) fs::remove(e.path());
  }
  binlake::lake::ApplyOptions json_only = o;
  json_only.lake = without_cp;
  json_only.checkpoints.interval = 0;

  // One file at a time into each lake, alternating, so both see the same machine load.
  std::vector<double> apply_cp, apply_json, read_cp, read_json;
  for (int k = 0; k < samples; k++) {
    const std::vector<std::string> one = {changes[static_cast<size_t>(versions + k)]};
    for (auto* opts : {&o, &json_only}) {
      const std::string table = opts->lake + "/db/t";
      auto t0 = Clock::now();
      auto snap = binlake::lake::ReadDeltaLog(table);
      if (!snap.ok()) Die("read", snap.status());
      (opts == &o ? read_cp : read_json).push_back(Ms(t0));
      t0 = Clock::now();
      auto r = binlake::lake::ApplyFiles(*opts, one);
      if (!r.ok() || r->commits != 1) Die("apply", r.status());
      (opts == &o ? apply_cp : apply_json).push_back(Ms(t0));
    }
  }
  // The apply's other per-file cost: it reads the manifest of every staged change file.
  std::vector<double> scan;
  for (int k = 0; k < 5; k++) {
    const auto t0 = Clock::now();
    for (const auto& f : changes) {
      auto m = binlake::staging::ReadManifest(staging, "db", "t", fs::path(f).filename().string());
      if (!m.ok()) Die("manifest", m.status());
    }
    scan.push_back(Ms(t0));
  }
  // What a checkpoint costs when it is due (once per 100 commits).
  auto t_cp = Clock::now();
  if (Status s = binlake::lake::WriteDeltaCheckpoint(without_cp + "/db/t", versions + samples);
      !s.ok()) {
    Die("checkpoint", s);
  }
  const double checkpoint_ms = Ms(t_cp);
  std::printf(
      "{\"versions\": %d, \"rows\": %d, \"samples\": %d,\n"
      " \"apply_ms_with_checkpoints\": {\"p50\": %.2f, \"p90\": %.2f},\n"
      " \"apply_ms_json_only\": {\"p50\": %.2f, \"p90\": %.2f},\n"
      " \"read_log_ms_with_checkpoints\": {\"p50\": %.2f}, \"read_log_ms_json_only\": "
      "{\"p50\": %.2f},\n"
      " \"write_checkpoint_ms\": %.2f, \"staging_manifest_scan_ms\": %.2f}\n",
      versions, rows, samples, Quantile(apply_cp, 0.5), Quantile(apply_cp, 0.9),
      Quantile(apply_json, 0.5), Quantile(apply_json, 0.9), Quantile(read_cp, 0.5),
      Quantile(read_json, 0.5), checkpoint_ms, Quantile(scan, 0.5));
  fs::remove_all(dir);
  return 0;
}
