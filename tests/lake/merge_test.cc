// The bucket merge: typed key hashes confirmed by equality (forced collisions give the same
// result), every key type, keyless multisets, key moves, warnings, untouched rows keep their order.
#include "lake/merge.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "lake/lake.h"
#include "testing/status_matchers.h"

namespace binlake::lake {
namespace {

using Text = std::optional<std::string>;
using Row = std::vector<Text>;

struct Schema {
  std::vector<LakeType> types;
  std::shared_ptr<arrow::Schema> arrow;
};

Schema MakeSchema(const std::vector<std::string>& mysql_types) {
  Schema s;
  arrow::FieldVector fields;
  for (size_t i = 0; i < mysql_types.size(); i++) {
    staging::ColumnSchema c;
    c.name = "c" + std::to_string(i);
    c.mysql_type = mysql_types[i];
    c.is_unsigned = mysql_types[i].find("unsigned") != std::string::npos;
    s.types.push_back(MapColumn(c).value());
    fields.push_back(arrow::field(c.name, s.types.back().arrow));
  }
  s.arrow = arrow::schema(fields);
  return s;
}

std::shared_ptr<arrow::RecordBatch> Batch(const Schema& s, const std::vector<Row>& rows) {
  arrow::ArrayVector arrays;
  for (size_t c = 0; c < s.types.size(); c++) {
    auto b = arrow::MakeBuilder(s.types[c].arrow).ValueOrDie();
    for (const Row& r : rows) EXPECT_OK(AppendValue(s.types[c], r[c], b.get()));
    arrays.push_back(b->Finish().ValueOrDie());
  }
  return arrow::RecordBatch::Make(s.arrow, static_cast<int64_t>(rows.size()), arrays);
}

// Each row as text ("NULL" for null), in output order.
std::vector<std::string> Texts(const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches) {
  std::vector<std::string> out;
  for (const auto& b : batches) {
    for (int64_t i = 0; i < b->num_rows(); i++) {
      std::string row;
      for (int c = 0; c < b->num_columns(); c++) {
        auto v = b->column(c)->GetScalar(i).ValueOrDie();
        row += (c ? "|" : "") + (v->is_valid ? v->ToString() : std::string("NULL"));
      }
      out.push_back(row);
    }
  }
  return out;
}

struct MergeOut {
  std::vector<std::string> rows;
  std::vector<std::string> warnings;
  int64_t dropped = 0;
};

// Merges `changes` (op + row) into `old`, fed in batches of `batch_rows`.
MergeOut Merge(const Schema& s, const std::vector<Row>& old,
               const std::vector<std::pair<char, Row>>& changes, const std::vector<int>& key,
               bool has_pk, uint64_t mask = ~uint64_t{0}, size_t batch_rows = 3) {
  std::vector<Row> rows;
  std::vector<char> ops;
  for (const auto& [op, r] : changes) {
    ops.push_back(op);
    rows.push_back(r);
  }
  auto m = BucketMerge::Make(Batch(s, rows), ops, key, has_pk, mask);
  EXPECT_OK(m.status());
  std::vector<std::shared_ptr<arrow::RecordBatch>> kept;
  for (size_t i = 0; i < old.size(); i += batch_rows) {
    std::vector<Row> part(old.begin() + static_cast<long>(i),
                          old.begin() + static_cast<long>(std::min(old.size(), i + batch_rows)));
    EXPECT_OK((*m)->Filter(Batch(s, part), &kept));
  }
  MergeOut r;
  EXPECT_OK((*m)->Finish(&kept, &r.warnings));
  r.rows = Texts(kept);
  r.dropped = (*m)->old_rows_dropped();
  return r;
}

TEST(MergeTest, PrimaryKeyChangesKeepUntouchedOrder) {
  Schema s = MakeSchema({"int", "varchar(10)"});
  std::vector<Row> old = {{"5", "e"}, {"1", "a"}, {"3", "c"}, {"2", "b"}, {"4", "d"}};
  auto r = Merge(s, old,
                 {{'U', {"3", "C"}},
                  {'D', {"2", "b"}},
                  {'I', {"9", "new"}},
                  {'U', {"9", "newer"}},
                  {'I', {"7", "x"}},
                  {'D', {"7", "x"}}},
                 {0}, true);
  EXPECT_EQ(r.rows, (std::vector<std::string>{"5|e", "1|a", "4|d", "3|C", "9|newer"}));
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(r.dropped, 2);
}

TEST(MergeTest, PrimaryKeyWarnings) {
  Schema s = MakeSchema({"int", "varchar(10)"});
  auto r = Merge(s, {{"1", "a"}, {"2", "b"}},
                 {{'I', {"1", "again"}},
                  {'U', {"8", "u"}},
                  {'D', {"9", "z"}},
                  {'D', {"2", "b"}},
                  {'D', {"2", "b"}}},
                 {0}, true);
  EXPECT_EQ(r.rows, (std::vector<std::string>{"1|again", "8|u"}));
  ASSERT_EQ(r.warnings.size(), 4u);
  EXPECT_EQ(r.warnings[0], "insert of an existing key (1); the new row wins");
  EXPECT_EQ(r.warnings[1], "update of a missing key (8); inserted");
  EXPECT_EQ(r.warnings[2], "delete of a missing row (key 9)");
  EXPECT_EQ(r.warnings[3], "delete of a missing row (key 2)");
}

TEST(MergeTest, KeyMovesWithinOneFile) {
  // An update of the key is staged as D (old key) then I (new key); a move back re-inserts.
  Schema s = MakeSchema({"bigint", "varchar(10)"});
  auto r = Merge(s, {{"1", "a"}, {"2", "b"}, {"3", "c"}},
                 {{'D', {"1", "a"}},
                  {'I', {"10", "a"}},
                  {'D', {"2", "b"}},
                  {'I', {"20", "b"}},
                  {'D', {"20", "b"}},
                  {'I', {"2", "b2"}},
                  {'D', {"3", "c"}},
                  {'I', {"1", "c"}}},
                 {0}, true);
  EXPECT_EQ(r.rows, (std::vector<std::string>{"10|a", "2|b2", "1|c"}));
  EXPECT_TRUE(r.warnings.empty());
}

TEST(MergeTest, KeylessRowsAreAMultiset) {
  Schema s = MakeSchema({"int", "varchar(10)", "double"});
  const Row a = {"1", "a", "0.5"}, b = {"2", std::nullopt, "1e+20"};
  // Two old copies of a: D, I, D, D leave none; b is untouched; a third D of a is a warning.
  auto r = Merge(s, {a, b, a}, {{'D', a}, {'I', a}, {'D', a}, {'D', a}}, {0, 1, 2}, false);
  EXPECT_EQ(r.rows, (std::vector<std::string>{"2|NULL|1e+20"}));
  EXPECT_TRUE(r.warnings.empty());
  r = Merge(s, {a, b, a}, {{'I', a}, {'D', a}, {'D', a}, {'I', b}, {'D', a}, {'D', a}}, {0, 1, 2},
            false);
  EXPECT_EQ(r.rows, (std::vector<std::string>{"2|NULL|1e+20", "2|NULL|1e+20"}));
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0], "delete of a missing row (1, a, 0.5)");
  // A duplicate inserted then one copy deleted: one copy stays.
  r = Merge(s, {a}, {{'I', a}, {'D', a}}, {0, 1, 2}, false);
  EXPECT_EQ(r.rows, (std::vector<std::string>{"1|a|0.5"}));
}

// A simple reference: the rows by key text in a map, changes applied in order.
std::vector<std::string> Reference(const Schema& s, const std::vector<Row>& old,
                                   const std::vector<std::pair<char, Row>>& changes) {
  std::map<std::string, std::string> live;
  std::vector<std::string> order;
  auto text = [&](const Row& r) { return Texts({Batch(s, {r})})[0]; };
  auto key = [&](const Row& r) { return text(r).substr(0, text(r).find('|')); };
  for (const Row& r : old) live[key(r)] = text(r);
  for (const auto& [op, r] : changes) {
    if (op == 'D') {
      live.erase(key(r));
    } else {
      live[key(r)] = text(r);
    }
  }
  std::vector<std::string> out;
  for (const auto& [k, v] : live) out.push_back(v);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(MergeTest, HashCollisionsAreResolvedByEquality) {
  // mask 0: every key hashes the same; 1, 3: a few buckets of the probe table.
  Schema s = MakeSchema({"int", "varchar(10)"});
  std::mt19937 rng(7);
  for (int round = 0; round < 20; round++) {
    std::vector<Row> old;
    for (int k = 0; k < 60; k++) {
      if (rng() % 3 != 0) old.push_back({std::to_string(k), "o" + std::to_string(k)});
    }
    std::vector<std::pair<char, Row>> changes;
    for (int j = 0; j < 40; j++) {
      const int k = static_cast<int>(rng() % 80);
      const char op = "IUD"[rng() % 3];
      changes.push_back({op, {std::to_string(k), "c" + std::to_string(j)}});
    }
    const auto want = Reference(s, old, changes);
    for (uint64_t mask : {~uint64_t{0}, uint64_t{0}, uint64_t{1}, uint64_t{3}}) {
      auto r = Merge(s, old, changes, {0}, true, mask, 7);
      std::sort(r.rows.begin(), r.rows.end());
      EXPECT_EQ(r.rows, want) << "round " << round << " mask " << mask;
    }
    const auto full = Merge(s, old, changes, {0}, true);
    const auto collide = Merge(s, old, changes, {0}, true, 0);
    EXPECT_EQ(full.rows, collide.rows);
    EXPECT_EQ(full.warnings, collide.warnings);
  }
}

struct KeyCase {
  std::vector<std::string> types;  // key columns, then a value column
  std::vector<Row> keys;           // distinct keys (without the value column)
};

TEST(MergeTest, EveryKeyType) {
  const std::vector<KeyCase> cases = {
      {{"tinyint", "int"}, {{"-128"}, {"0"}, {"127"}, {std::nullopt}}},
      {{"smallint unsigned", "int"}, {{"0"}, {"65535"}, {"1"}}},
      {{"int", "int"}, {{"-2147483648"}, {"2147483647"}, {"7"}}},
      {{"bigint", "int"}, {{"-9223372036854775808"}, {"9223372036854775807"}, {"1"}}},
      {{"bigint unsigned", "int"}, {{"18446744073709551615"}, {"9223372036854775808"}, {"0"}}},
      {{"decimal(12,2)", "int"}, {{"-1.50"}, {"1.50"}, {"1.05"}, {"0.00"}}},
      {{"decimal(65,30)", "int"}, {{"1.000000000000000000000000000001"}, {"1"}, {"-1"}}},
      {{"varchar(20)", "int"}, {{""}, {"a"}, {"a "}, {"é"}, {"long string of many bytes ..."}}},
      {{"varbinary(8)", "int"}, {{""}, {"00"}, {"0000"}, {"FF"}, {"00FF"}}},
      {{"date", "int"}, {{"2024-02-29"}, {"1970-01-01"}, {"0000-00-00"}}},
      {{"datetime(6)", "int"},
       {{"2024-02-29 23:59:59.000001"}, {"2024-02-29 23:59:59"}, {"1000-01-01 00:00:00"}}},
      {{"timestamp(3)", "int"},
       {{"2024-02-29 23:59:59.123"}, {"1970-01-01 00:00:01.000"}, {"2038-01-19 03:14:07.999"}}},
      {{"float", "int"}, {{"0.1"}, {"-0"}, {"0"}, {"3.4028235e+38"}}},
      {{"double", "int"}, {{"0.1"}, {"-0"}, {"0"}, {"1e-300"}}},
      {{"int", "varchar(10)", "int"}, {{"1", "a"}, {"1", "b"}, {"2", "a"}, {"1", std::nullopt}}},
      {{"date", "bigint unsigned", "varbinary(4)", "int"},
       {{"2024-01-01", "1", "AA"}, {"2024-01-01", "1", "AB"}, {"2024-01-02", "1", "AA"}}},
  };
  for (const auto& c : cases) {
    ASSERT_GE(c.keys.size(), 3u) << c.types[0];
    Schema s = MakeSchema(c.types);
    const size_t nkey = c.types.size() - 1;
    std::vector<int> key;
    for (size_t i = 0; i < nkey; i++) key.push_back(static_cast<int>(i));
    auto row = [&](const Row& k, int v) {
      Row r = k;
      r.push_back(std::to_string(v));
      return r;
    };
    std::vector<Row> old;
    for (const Row& k : c.keys) old.push_back(row(k, 0));
    // Update the first key, delete the second, insert a copy of the third (warning): the other
    // keys, equal in text prefix or value, must stay untouched.
    for (uint64_t mask : {~uint64_t{0}, uint64_t{0}}) {
      auto r = Merge(s, old,
                     {{'U', row(c.keys[0], 1)}, {'D', row(c.keys[1], 0)}, {'I', row(c.keys[2], 2)}},
                     key, true, mask);
      const auto old_texts = Texts({Batch(s, old)});
      std::vector<std::string> want(old_texts.begin() + 3, old_texts.end());
      want.push_back(Texts({Batch(s, {row(c.keys[0], 1)})})[0]);
      want.push_back(Texts({Batch(s, {row(c.keys[2], 2)})})[0]);
      EXPECT_EQ(r.rows, want) << c.types[0] << " mask " << mask;
      EXPECT_EQ(r.warnings.size(), 1u) << c.types[0];
      EXPECT_EQ(r.dropped, 3) << c.types[0];
    }
  }
}

TEST(MergeTest, HashesAreTypedAndEqualForEqualValues) {
  Schema s = MakeSchema({"varchar(10)", "decimal(10,2)"});
  auto a = Batch(s, {{"x", "1.50"}, {"x", "1.5"}, {std::nullopt, "0"}});
  auto b = Batch(s, {{"x", "1.50"}, {"", "0.00"}});
  std::vector<uint64_t> ha, hb;
  ASSERT_OK(HashKeys({a->column(0).get(), a->column(1).get()}, 3, &ha));
  ASSERT_OK(HashKeys({b->column(0).get(), b->column(1).get()}, 2, &hb));
  EXPECT_EQ(ha[0], ha[1]);  // 1.50 and 1.5 are the same decimal(10,2)
  EXPECT_EQ(ha[0], hb[0]);
  EXPECT_NE(ha[2], hb[1]);  // NULL is not the empty string
  EXPECT_TRUE(KeysEqual({a->column(0).get()}, 0, {b->column(0).get()}, 0));
  EXPECT_FALSE(KeysEqual({a->column(0).get()}, 2, {b->column(0).get()}, 1));
}

}  // namespace
}  // namespace binlake::lake
