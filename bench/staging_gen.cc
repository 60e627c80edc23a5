// Writes the staging files of the apply benchmark (bench/apply_bench.py) through the staging store
// itself, so names, manifests, schema and CSV text are exactly what the capture writes. STAGING is
// a folder or an s3://bucket/prefix URI (endpoint and keys from the environment, docs/s3.md).
//
//   staging_gen load STAGING ROWS
//       the full load of bench.t (ids 1..ROWS): BIGINT pk, INT, VARCHAR(64), DECIMAL(12,2),
//       DATETIME(6), DOUBLE, nullable TEXT
//   staging_gen changes STAGING ROWS CHANGES RUN [HOT_KEYS]
//       one change file of about CHANGES rows (RUN = 1, 2, ...: a different set of keys each run):
//       updates of existing keys, some keys updated twice, inserts of new keys (some then updated
//       or deleted), deletes, and key moves (D of the old key, I of a new one), 100 per
//       transaction; with HOT_KEYS, every change is an update of one of that many keys (hot rows)
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "staging/staging.h"

namespace {

using binlake::staging::Cell;

binlake::staging::ColumnSchema Col(const char* name, const char* type, uint8_t binlog_type,
                                   int pk = -1) {
  binlake::staging::ColumnSchema c;
  c.name = name;
  c.mysql_type = type;
  c.binlog_type = binlog_type;
  c.nullable = pk < 0;
  c.collation = 45;
  c.pk_position = pk;
  return c;
}

binlake::staging::TableSchema Schema() {
  binlake::staging::TableSchema s;
  s.schema = "bench";
  s.table = "t";
  s.columns = {Col("id", "bigint(20)", 8, 0),     Col("qty", "int(11)", 3),
               Col("name", "varchar(64)", 15),    Col("price", "decimal(12,2)", 246),
               Col("created", "datetime(6)", 18), Col("score", "double", 5),
               Col("note", "text", 252)};
  return s;
}

// The canonical text of one row (docs/staging.md "Values"); `version` varies an updated row.
class RowText {
 public:
  std::vector<Cell> Make(int64_t id, uint64_t version) {
    std::mt19937_64 rng(static_cast<uint64_t>(id) * 0x9E3779B97F4A7C15ULL + version);
    id_ = std::to_string(id);
    qty_ = std::to_string(static_cast<int32_t>(rng() % 200000) - 100000);
    name_ = "customer-" + std::to_string(id) + "-" + std::string(rng() % 24, 'a' + rng() % 26);
    const uint64_t cents = rng() % 10000000000ULL;
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%llu.%02llu", static_cast<unsigned long long>(cents / 100),
                  static_cast<unsigned long long>(cents % 100));
    price_ = buf;
    const uint64_t secs = 1704067200ULL + rng() % 94608000ULL;  // 2024..2026
    const time_t tt = static_cast<time_t>(secs);
    tm t{};
    gmtime_r(&tt, &t);
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d.%06llu", t.tm_year + 1900,
                  t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                  static_cast<unsigned long long>(rng() % 1000000));
    at_ = buf;
    const double score = static_cast<double>(rng() % 100000000) / 997.0 + 0.5;
    auto r = std::to_chars(buf, buf + sizeof(buf), score);  // shortest round-trip text
    score_.assign(buf, r.ptr);
    const uint64_t n = rng() % 100;
    bool note_null = false;
    if (n < 20) {
      note_null = true;
      note_.clear();
    } else if (n < 25) {
      note_.clear();  // the empty string, written ""
    } else if (n < 27) {
      note_ = "said \"hi\", then left\nline two";  // quoting
    } else {
      note_ = "note " + std::to_string(rng() % 1000000) + " " + std::string(rng() % 60, 'x');
    }
    return {Cell{false, id_}, Cell{false, qty_},   Cell{false, name_},    Cell{false, price_},
            Cell{false, at_}, Cell{false, score_}, Cell{note_null, note_}};
  }

 private:
  std::string id_, qty_, name_, price_, at_, score_, note_;
};

binlake::staging::SourcePosition Pos(uint64_t p) { return {"binlog.000001", p, ""}; }

int Fail(const binlake::Status& s) {
  std::fprintf(stderr, "staging_gen: %s\n", s.ToString().c_str());
  return 1;
}

int Load(const std::string& root, int64_t rows) {
  auto st = binlake::staging::Staging::Open(root, {}, {});
  if (!st.ok()) return Fail(st.status());
  auto v = (*st)->RegisterSchema(Schema(), Pos(4));
  if (!v.ok()) return Fail(v.status());
  auto w = (*st)->BeginLoad("bench", "t", Pos(4));
  if (!w.ok()) return Fail(w.status());
  RowText text;
  for (int64_t id = 1; id <= rows; id++) {
    auto s = (*w)->AppendRow(text.Make(id, 0));
    if (!s.ok()) return Fail(s);
  }
  auto s = (*w)->Finish();
  if (!s.ok()) return Fail(s);
  s = (*st)->FinishFullLoad(Pos(4));
  return s.ok() ? 0 : Fail(s);
}

int Changes(const std::string& root, int64_t rows, int64_t changes, int run, int64_t hot_keys) {
  binlake::staging::FlushPolicy never;
  never.interval_ms = 1u << 30;
  never.min_bytes = uint64_t{1} << 40;
  auto st = binlake::staging::Staging::Open(root, {}, never);
  if (!st.ok()) return Fail(st.status());
  auto& s = **st;
  std::mt19937_64 rng(static_cast<uint64_t>(run) * 7919);
  // Keys with id % 16 == 0 are only ever updated; a run deletes and moves keys with id % 16 ==
  // run, so runs never delete what another updates. New keys of run r start at rows * (r + 1).
  std::unordered_set<int64_t> used;
  auto pick = [&](int residue) {
    const int64_t classes = rows / 16;
    for (;;) {
      const int64_t id =
          static_cast<int64_t>(rng() % static_cast<uint64_t>(classes)) * 16 + residue;
      if (id >= 1 && id <= rows && used.insert(id).second) return id;
    }
  };
  int64_t next_new = rows * (run + 1) + 1;
  struct Change {
    char op;
    int64_t id;
    uint64_t version;
  };
  std::vector<Change> list;
  std::vector<int64_t> updated;
  const uint64_t version = static_cast<uint64_t>(run) * 1000;
  std::vector<int64_t> hot;
  for (int64_t k = 0; k < hot_keys; k++) hot.push_back(pick(0));
  for (int64_t i = 0; hot_keys > 0 && i < changes; i++) {
    list.push_back(
        {'U', hot[static_cast<size_t>(i % hot_keys)], version + static_cast<uint64_t>(i)});
  }
  while (static_cast<int64_t>(list.size()) < changes) {
    const uint64_t r = rng() % 1000;
    if (r < 850) {  // update
      const int64_t id = pick(0);
      list.push_back({'U', id, version + 1});
      updated.push_back(id);
    } else if (r < 870 && !updated.empty()) {  // the same key updated again later in the file
      list.push_back({'U', updated[rng() % updated.size()], version + 2});
    } else if (r < 920) {  // insert of a new key
      list.push_back({'I', next_new++, version + 1});
    } else if (r < 925) {  // insert then update of a new key
      list.push_back({'I', next_new, version + 1});
      list.push_back({'U', next_new++, version + 2});
    } else if (r < 928) {  // insert then delete of a new key: nothing remains
      list.push_back({'I', next_new, version + 1});
      list.push_back({'D', next_new++, version + 1});
    } else if (r < 975) {  // delete (the before-image)
      list.push_back({'D', pick(run % 16), 0});
    } else if (r < 985) {  // update then delete
      const int64_t id = pick(run % 16);
      list.push_back({'U', id, version + 1});
      list.push_back({'D', id, version + 1});
    } else {  // key move: D of the old key, I of the new one
      const int64_t id = pick(run % 16);
      list.push_back({'D', id, 0});
      list.push_back({'I', next_new++, version + 3});
    }
  }
  RowText text;
  uint64_t pos = 1000 + static_cast<uint64_t>(run) * 100000000ULL;
  const uint64_t base_us = 1767225600000000ULL + static_cast<uint64_t>(run) * 3600000000ULL;
  for (size_t i = 0; i < list.size(); i += 100) {
    auto b = s.BeginTransaction(Pos(pos), base_us + i * 1000);
    if (!b.ok()) return Fail(b);
    for (size_t j = i; j < list.size() && j < i + 100; j++) {
      const auto& c = list[j];
      auto a = s.Append("bench", "t", c.op, text.Make(c.id, c.version));
      if (!a.ok()) return Fail(a);
    }
    pos += 1000;
    auto c = s.Commit(Pos(pos));
    if (!c.ok()) return Fail(c);
  }
  auto f = s.Flush(0);
  return f.ok() ? 0 : Fail(f);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "load" && argc == 4) return Load(argv[2], std::atoll(argv[3]));
  if (mode == "changes" && (argc == 6 || argc == 7)) {
    return Changes(argv[2], std::atoll(argv[3]), std::atoll(argv[4]), std::atoi(argv[5]),
                   argc == 7 ? std::atoll(argv[6]) : 0);
  }
  std::fprintf(stderr,
               "usage: staging_gen load STAGING ROWS\n"
               "       staging_gen changes STAGING ROWS CHANGES RUN [HOT_KEYS]\n");
  return 2;
}
