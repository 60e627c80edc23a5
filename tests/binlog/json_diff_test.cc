// MySQL partial JSON updates: diff parsing, application to the before-image, and the fixture.
#include "binlog/json_diff.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "binlog/decoder.h"
#include "binlog/json_binary.h"
#include "binlog/value.h"
#include "testing/status_matchers.h"

namespace binlake::binlog {
namespace {

// Binary JSON values as the server writes them: type byte + data.
struct JV {
  uint8_t type;
  std::string data;
};

std::string LE(uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; i++) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

JV Lit(int v) { return {0x04, LE(v, 1)}; }
JV I16(int16_t v) { return {0x05, LE(static_cast<uint16_t>(v), 2)}; }
JV Dbl(double d) {
  uint64_t x;
  std::memcpy(&x, &d, 8);
  return {0x0b, LE(x, 8)};
}
JV Str(const std::string& s) {
  std::string len;
  size_t n = s.size();
  do {
    uint8_t b = n & 0x7f;
    n >>= 7;
    len.push_back(static_cast<char>(b | (n ? 0x80 : 0)));
  } while (n);
  return {0x0c, len + s};
}

// Small (2-byte offsets) object or array; literals and int16 are inlined.
JV Container(const std::vector<std::pair<std::string, JV>>& items, bool object) {
  size_t n = items.size();
  size_t key_entry = object ? 4 : 0;
  std::string body(4 + n * (key_entry + 3), '\0');
  auto put = [&](size_t at, uint64_t v) { body.replace(at, 2, LE(v, 2)); };
  for (size_t i = 0; object && i < n; i++) {
    put(4 + i * key_entry, body.size());
    put(4 + i * key_entry + 2, items[i].first.size());
    body += items[i].first;
  }
  for (size_t i = 0; i < n; i++) {
    size_t e = 4 + n * key_entry + i * 3;
    const JV& v = items[i].second;
    body[e] = static_cast<char>(v.type);
    if (v.type == 0x04 || v.type == 0x05) {
      body.replace(e + 1, v.data.size(), v.data);
    } else {
      put(e + 1, body.size());
      body += v.data;
    }
  }
  put(0, n);
  put(2, body.size());
  return {static_cast<uint8_t>(object ? 0 : 2), body};
}
JV Obj(const std::vector<std::pair<std::string, JV>>& items) { return Container(items, true); }
JV Arr(const std::vector<JV>& items) {
  std::vector<std::pair<std::string, JV>> v;
  for (const auto& i : items) v.push_back({"", i});
  return Container(v, false);
}

std::string Packed(size_t n) {
  if (n < 251) return std::string(1, static_cast<char>(n));
  return "\xfc" + LE(n, 2);
}

std::string Replace(const std::string& path, const JV& v) {
  std::string doc = std::string(1, static_cast<char>(v.type)) + v.data;
  return std::string(1, '\0') + Packed(path.size()) + path + Packed(doc.size()) + doc;
}
std::string Insert(const std::string& path, const JV& v) {
  std::string d = Replace(path, v);
  d[0] = 1;
  return d;
}
std::string Remove(const std::string& path) {
  return std::string(1, '\2') + Packed(path.size()) + path;
}

// The column bytes: `meta`-byte length then the diff list.
std::string Column(const std::string& diffs, int meta = 4) {
  return LE(diffs.size(), meta) + diffs;
}

Value Json(const std::string& text) {
  Value v;
  v.kind = ValueKind::kJson;
  v.text = text;
  return v;
}

Status Decode(const std::string& before, const std::string& column, std::string* after,
              int meta = 4) {
  ColumnDef col;
  col.type = kTypeJson;
  col.meta = static_cast<uint16_t>(meta);
  ByteReader r(column);
  Value out;
  Status st = DecodePartialJson(col, r, Json(before), &out);
  if (st.ok()) {
    EXPECT_EQ(out.kind, ValueKind::kJson);
    EXPECT_TRUE(r.empty()) << "diff bytes left unread";
    *after = out.text;
  }
  return st;
}

// Applies the diff list to `before`; the result text, or "ERROR: <status>".
std::string Apply(const std::string& before, const std::string& diffs) {
  std::string after;
  Status st = Decode(before, Column(diffs), &after);
  return st.ok() ? after : "ERROR: " + st.ToString();
}

const char kDoc[] = R"({"age": 24, "data": "xxxxxxxxxx", "name": "Joe"})";

TEST(JsonDiffApply, ReplaceMember) {
  EXPECT_EQ(Apply(kDoc, Replace("$.age", I16(25))),
            R"({"age": 25, "data": "xxxxxxxxxx", "name": "Joe"})");
  EXPECT_EQ(Apply(kDoc, Replace("$.name", Obj({{"n", Lit(1)}, {"first", Str("Jo")}}))),
            R"({"age": 24, "data": "xxxxxxxxxx", "name": {"n": true, "first": "Jo"}})");
  // Doubles print through json_binary's printer, as in a full image.
  EXPECT_EQ(Apply(kDoc, Replace("$.age", Dbl(1.0))),
            R"({"age": 1.0, "data": "xxxxxxxxxx", "name": "Joe"})");
  EXPECT_EQ(Apply(kDoc, Replace("$.age", Dbl(3.14))),
            R"({"age": 3.14, "data": "xxxxxxxxxx", "name": "Joe"})");
}

TEST(JsonDiffApply, UntouchedValuesKeepTheirText) {
  // Decimals, doubles, big integers, escapes and dates are copied as printed, not re-formatted.
  const std::string before =
      R"({"d": 1.50, "e": 1e100, "s": "a\"\u0001\n", "u": 18446744073709551615, )"
      R"("dt": "2020-01-02 03:04:05.000000", "x": 0})";
  EXPECT_EQ(Apply(before, Replace("$.x", I16(1))),
            R"({"d": 1.50, "e": 1e100, "s": "a\"\u0001\n", "u": 18446744073709551615, )"
            R"("dt": "2020-01-02 03:04:05.000000", "x": 1})");
}

// The rebuilt text equals json_binary's text of the full after-document the server would log.
TEST(JsonDiffApply, MatchesTheFullAfterImage) {
  std::string before, after;
  auto doc = [](const JV& v) { return std::string(1, static_cast<char>(v.type)) + v.data; };
  ASSERT_TRUE(
      JsonBinaryToText(doc(Obj({{"n", Dbl(0.1)}, {"list", Arr({Dbl(1e21), Lit(2)})}})), &before)
          .ok());
  ASSERT_TRUE(JsonBinaryToText(doc(Obj({{"n", Dbl(-2.5e-7)},
                                        {"new", Str("\x01\xe4\xb8\xad")},
                                        {"list", Arr({Dbl(123456789012345680.0), Lit(2)})}})),
                               &after)
                  .ok());
  std::string diffs = Replace("$.n", Dbl(-2.5e-7)) +
                      Replace("$.list[0]", Dbl(123456789012345680.0)) +
                      Insert("$.new", Str("\x01\xe4\xb8\xad"));
  EXPECT_EQ(Apply(before, diffs), after);
}

TEST(JsonDiffApply, ReplaceArrayElement) {
  EXPECT_EQ(Apply(R"({"a": [1, 2, 3]})", Replace("$.a[1]", Str("x"))), R"({"a": [1, "x", 3]})");
  EXPECT_EQ(Apply(R"([1, 2, 3])", Replace("$[0]", Arr({Lit(0), Lit(2)}))),
            R"([[null, false], 2, 3])");
  EXPECT_EQ(Apply(R"([1, 2, 3])", Replace("$[last]", I16(-1))), R"([1, 2, -1])");
  EXPECT_EQ(Apply(R"([1, 2, 3])", Replace("$[last-2]", I16(-1))), R"([-1, 2, 3])");
  EXPECT_EQ(Apply(R"([1, 2, 3])", Replace("$[ 2 ]", I16(9))), R"([1, 2, 9])");
}

TEST(JsonDiffApply, InsertMemberAtSortedPosition) {
  // MySQL binary order: by key length, then bytes.
  const std::string before = R"({"b": 1, "aa": 2, "ccc": 3})";
  EXPECT_EQ(Apply(before, Insert("$.a", I16(0))), R"({"a": 0, "b": 1, "aa": 2, "ccc": 3})");
  EXPECT_EQ(Apply(before, Insert("$.c", I16(0))), R"({"b": 1, "c": 0, "aa": 2, "ccc": 3})");
  EXPECT_EQ(Apply(before, Insert("$.zz", I16(0))), R"({"b": 1, "aa": 2, "zz": 0, "ccc": 3})");
  EXPECT_EQ(Apply(before, Insert("$.A", I16(0))), R"({"A": 0, "b": 1, "aa": 2, "ccc": 3})");
  EXPECT_EQ(Apply(before, Insert("$.dddd", I16(0))), R"({"b": 1, "aa": 2, "ccc": 3, "dddd": 0})");
  EXPECT_EQ(Apply("{}", Insert("$.k", Str("v"))), R"({"k": "v"})");
}

TEST(JsonDiffApply, ArrayInsert) {
  EXPECT_EQ(Apply("[1, 2, 3]", Insert("$[0]", I16(0))), "[0, 1, 2, 3]");
  EXPECT_EQ(Apply("[1, 2, 3]", Insert("$[2]", I16(0))), "[1, 2, 0, 3]");
  EXPECT_EQ(Apply("[1, 2, 3]", Insert("$[3]", I16(0))), "[1, 2, 3, 0]");
  // Past the end appends, like JSON_ARRAY_INSERT.
  EXPECT_EQ(Apply("[1, 2, 3]", Insert("$[99]", I16(0))), "[1, 2, 3, 0]");
  EXPECT_EQ(Apply("[]", Insert("$[0]", Obj({}))), "[{}]");
  EXPECT_EQ(Apply(R"({"a": []})", Insert("$.a[0]", Lit(1))), R"({"a": [true]})");
}

TEST(JsonDiffApply, Remove) {
  EXPECT_EQ(Apply(kDoc, Remove("$.data")), R"({"age": 24, "name": "Joe"})");
  EXPECT_EQ(Apply(R"({"a": [1, 2, 3]})", Remove("$.a[1]")), R"({"a": [1, 3]})");
  EXPECT_EQ(Apply(R"({"a": [1, 2, 3]})", Remove("$.a[last]")), R"({"a": [1, 2]})");
  EXPECT_EQ(Apply(R"({"a": 1})", Remove("$.a")), "{}");
}

TEST(JsonDiffApply, SeveralDiffsInOrder) {
  std::string diffs = Replace("$.age", I16(25)) + Remove("$.data") +
                      Insert("$.tags", Arr({Str("a")})) + Insert("$.tags[1]", Str("b")) +
                      Insert("$.tags[0]", Str("z")) + Replace("$.name", Str("Jim"));
  EXPECT_EQ(Apply(kDoc, diffs), R"({"age": 25, "name": "Jim", "tags": ["z", "a", "b"]})");
  // A later diff sees the earlier ones: insert then remove is a no-op.
  EXPECT_EQ(Apply(kDoc, Insert("$.new", I16(1)) + Remove("$.new")), kDoc);
}

TEST(JsonDiffApply, NestedPaths) {
  const std::string before = R"({"a": {"b": [0, {"c": [10, 20]}, 2]}, "z": null})";
  EXPECT_EQ(Apply(before, Replace("$.a.b[1].c[1]", I16(21))),
            R"({"a": {"b": [0, {"c": [10, 21]}, 2]}, "z": null})");
  EXPECT_EQ(Apply(before, Insert("$.a.b[1].d", Lit(2))),
            R"({"a": {"b": [0, {"c": [10, 20], "d": false}, 2]}, "z": null})");
  EXPECT_EQ(Apply(before, Remove("$.a.b[1].c")), R"({"a": {"b": [0, {}, 2]}, "z": null})");
  EXPECT_EQ(Apply(before, Insert("$.a.b[1].c[0]", I16(5))),
            R"({"a": {"b": [0, {"c": [5, 10, 20]}, 2]}, "z": null})");
}

TEST(JsonDiffApply, QuotedKeys) {
  const std::string before = R"({"é": 4, "a.b": 1, "q\"k": 3, "my key": 2})";
  EXPECT_EQ(Apply(before, Replace(R"($."my key")", I16(0))),
            R"({"é": 4, "a.b": 1, "q\"k": 3, "my key": 0})");
  EXPECT_EQ(Apply(before, Replace(R"($."a.b")", I16(9))),
            R"({"é": 4, "a.b": 9, "q\"k": 3, "my key": 2})");
  EXPECT_EQ(Apply(before, Remove(R"($."q\"k")")), R"({"é": 4, "a.b": 1, "my key": 2})");
  EXPECT_EQ(Apply(before, Replace(R"($."\u00e9")", I16(5))),
            R"({"é": 5, "a.b": 1, "q\"k": 3, "my key": 2})");
  EXPECT_EQ(Apply(before, Replace(R"($.\u00e9)", I16(5))).substr(0, 7), "ERROR: ");
  EXPECT_EQ(Apply(before, Replace("$.é", I16(5))), R"({"é": 5, "a.b": 1, "q\"k": 3, "my key": 2})");
  // An inserted key is printed escaped and sorted by its unescaped bytes.
  EXPECT_EQ(Apply(before, Insert(R"($."x\ny")", Lit(0))),
            R"({"é": 4, "a.b": 1, "q\"k": 3, "x\ny": null, "my key": 2})");
  EXPECT_EQ(Apply(R"({"b": 1})", Insert(R"($."a\tb")", Lit(0))), R"({"b": 1, "a\tb": null})");
  EXPECT_EQ(Apply(R"({"b": 1})", Insert(R"($."a\u0001")", Lit(0))), R"({"b": 1, "a\u0001": null})");
  EXPECT_EQ(Apply(R"({"b": 1})", Insert(R"($."\ud83d\ude00")", Lit(0))),
            "{\"b\": 1, \"\xf0\x9f\x98\x80\": null}");
}

TEST(JsonDiffApply, MismatchIsCorruptionNamingThePath) {
  struct Case {
    std::string before, diffs, path;
  };
  std::vector<Case> cases = {
      {kDoc, Replace("$.missing", I16(1)), "$.missing"},
      {kDoc, Insert("$.age", I16(1)), "$.age"},
      {kDoc, Remove("$.missing"), "$.missing"},
      {"[1, 2]", Remove("$[2]"), "$[2]"},
      {"[1, 2]", Replace("$[2]", I16(1)), "$[2]"},
      {"[1, 2]", Replace("$[last-2]", I16(1)), "$[last-2]"},
      {"[1, 2]", Replace("$.a", I16(1)), "$.a"},
      {kDoc, Replace("$[0]", I16(1)), "$[0]"},
      {kDoc, Replace("$.age.x", I16(1)), "$.age.x"},
      {kDoc, Insert("$.age[0]", I16(1)), "$.age[0]"},
      {kDoc, Replace("$.a.b", I16(1)), "$.a.b"},
      {kDoc, Replace("$", I16(1)), "$"},
      {kDoc, Remove("$.*"), "$.*"},
      {kDoc, Remove("$[*]"), "$[*]"},
      {kDoc, Remove("$**.a"), "$**.a"},
      {"[1, 2]", Remove("$[0 to 1]"), "$[0 to 1]"},
      {kDoc, Remove("age"), "age"},
      {kDoc, Remove(R"($."unterminated)"), R"($."unterminated)"},
      // The later diff fails after the first one applied: still an error, no partial result.
      {kDoc, Replace("$.age", I16(1)) + Remove("$.age") + Remove("$.age"), "$.age"},
  };
  for (const auto& c : cases) {
    std::string after;
    Status st = Decode(c.before, Column(c.diffs), &after);
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << c.path << ": " << st.ToString() << after;
    EXPECT_NE(st.message().find("'" + c.path + "'"), std::string::npos) << st.message();
  }
}

TEST(JsonDiffDecode, LengthPrefixSizes) {
  std::string diffs = Replace("$.age", I16(30));
  for (int meta = 1; meta <= 4; meta++) {
    std::string after;
    ASSERT_TRUE(Decode(kDoc, Column(diffs, meta), &after, meta).ok()) << meta;
    EXPECT_EQ(after, R"({"age": 30, "data": "xxxxxxxxxx", "name": "Joe"})");
  }
  std::string after;
  EXPECT_EQ(Decode(kDoc, Column(diffs), &after, 0).code(), StatusCode::kCorruption);
  EXPECT_EQ(Decode(kDoc, Column(diffs), &after, 5).code(), StatusCode::kCorruption);
}

TEST(JsonDiffDecode, LongPathAndValueUsePackedLengths) {
  std::string key(300, 'k');
  std::string big(400, 'v');
  std::string before = "{\"" + key + "\": 1}";
  EXPECT_EQ(Apply(before, Replace("$." + key, Str(big))), "{\"" + key + "\": \"" + big + "\"}");
}

TEST(JsonDiffDecode, EmptyDiffListKeepsTheDocument) { EXPECT_EQ(Apply(kDoc, ""), kDoc); }

TEST(JsonDiffDecode, TruncatedAtEveryPrefix) {
  std::string diffs = Replace("$.age", I16(25)) + Insert(R"($."n k")", Str("long value")) +
                      Remove("$.data") + Insert("$.arr", Arr({I16(1), Str("s")}));
  std::set<size_t> boundaries = {0};
  {
    size_t at = 0;
    for (const std::string& d : {Replace("$.age", I16(25)), Insert(R"($."n k")", Str("long value")),
                                 Remove("$.data"), Insert("$.arr", Arr({I16(1), Str("s")}))}) {
      at += d.size();
      boundaries.insert(at);
    }
  }
  std::string full = Column(diffs);
  // The column cut short: the length prefix promises more than there is.
  for (size_t n = 0; n < full.size(); n++) {
    std::string after;
    Status st = Decode(kDoc, full.substr(0, n), &after);
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << n;
    EXPECT_NE(st.message().find("truncated partial JSON diff"), std::string::npos) << n;
  }
  // A consistent length prefix over a cut diff list: only whole diffs decode.
  for (size_t n = 0; n <= diffs.size(); n++) {
    std::string after;
    Status st = Decode(kDoc, Column(diffs.substr(0, n)), &after);
    if (boundaries.count(n)) {
      EXPECT_TRUE(st.ok()) << n << ": " << st.ToString();
    } else {
      EXPECT_EQ(st.code(), StatusCode::kCorruption) << n;
    }
  }
}

TEST(JsonDiffDecode, BadBytesAreCorruption) {
  std::string after;
  // Unknown operation.
  EXPECT_EQ(Decode(kDoc, Column(std::string("\3\1$")), &after).code(), StatusCode::kCorruption);
  // 251 is not a valid packed length.
  EXPECT_EQ(Decode(kDoc, Column(std::string("\2\xfb")), &after).code(), StatusCode::kCorruption);
  // Value of length 0, and a value with an unknown binary JSON type.
  EXPECT_EQ(Decode(kDoc, Column(std::string("\0\5$.age\0", 8)), &after).code(),
            StatusCode::kCorruption);
  EXPECT_EQ(Decode(kDoc, Column(std::string("\0\5$.age\1\x7f", 9)), &after).code(),
            StatusCode::kCorruption);
  // A before-image that is not JSON.
  EXPECT_EQ(Decode("{\"a\": ", Column(Remove("$.a")), &after).code(), StatusCode::kCorruption);
}

TEST(JsonDiffDecode, RandomCorruptionNeverCrashes) {
  std::string diffs = Replace("$.age", I16(25)) + Insert(R"($."n k")", Str("long value")) +
                      Remove("$.data") + Insert("$.arr", Arr({I16(1), Obj({{"x", Dbl(2.5)}})}));
  std::mt19937 rng(7);
  for (int i = 0; i < 3000; i++) {
    std::string bad = diffs;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 3); k++) {
      bad[rng() % bad.size()] = static_cast<char>(rng());
    }
    std::string after;
    Status st = Decode(kDoc, Column(bad), &after);
    if (!st.ok()) {
      EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
    }
  }
}

TEST(JsonDiffDecode, DepthIsCapped) {
  std::string deep = std::string(100, '[') + std::string(100, ']');
  EXPECT_EQ(Apply(deep, Replace("$[0]", I16(1))).substr(0, 3), "[1]");
  // One more level is past MySQL's limit.
  std::string path = "$";
  for (int i = 0; i < 100; i++) path += "[0]";
  EXPECT_NE(Apply(deep, Insert(path, Arr({}))).find("nested too deeply"), std::string::npos);
  EXPECT_NE(Apply("[" + deep + "]", Remove("$[0]")).find("before-image is not valid JSON"),
            std::string::npos);
  std::string long_path = "$";
  for (int i = 0; i < 101; i++) long_path += "[0]";
  EXPECT_NE(Apply(deep, Remove(long_path)).find("invalid or unsupported path"), std::string::npos);
}

TEST(JsonDiffDecode, MissingBeforeImageGivesTheDiffs) {
  ColumnDef col;
  col.type = kTypeJson;
  col.meta = 4;
  std::string column = Column(Replace("$.age", I16(25)));
  ByteReader r(column);
  Value before, out;
  ASSERT_OK(DecodePartialJson(col, r, before, &out));
  EXPECT_EQ(out.kind, ValueKind::kJsonDiff);
  EXPECT_EQ(out.text, R"([{"op": "replace", "path": "$.age", "value": 25}])");
}

// --- The fixture: MySQL 8.0.22, binlog_row_image=MINIMAL, binlog_row_value_options=PARTIAL_JSON.

std::string FixturePath() {
  return std::string(BINLAKE_SOURCE_DIR) + "/tests/data/binlogs/json.binlog.000001";
}

class JsonSink : public EventSink {
 public:
  Status OnRow(const EventContext& ctx, const RowChange& row) override {
    offsets.push_back(ctx.offset);
    ops.push_back(row.op);
    // The latest full after-image of each row: the before-image the partial update applies to.
    if (row.op != 'D' && row.after_present[0]) docs[row.after[0].i] = row.after[1].text;
    if (row.op == 'U' && row.after[1].kind == ValueKind::kJsonDiff) last_diff = row.after[1].text;
    return {};
  }
  std::vector<uint64_t> offsets;
  std::vector<char> ops;
  std::map<int64_t, std::string> docs;
  std::string last_diff;
};

TEST(JsonDiffFixture, PartialUpdateWithoutBeforeImageGivesDiffs) {
  Decoder decoder;
  JsonSink sink;
  Status st = DecodeBinlogFile(FixturePath(), &decoder, &sink);
  // 6 inserts, 6 full updates, then a PARTIAL_UPDATE_ROWS event at 3750 whose before-image holds
  // only the primary key (MINIMAL): its JSON column comes out as the diffs.
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(sink.ops, std::vector<char>({'I', 'I', 'I', 'I', 'I', 'I', 'U', 'U', 'U', 'U', 'U', 'U',
                                         'U', 'U', 'U', 'U', 'U', 'U'}));
  EXPECT_EQ(sink.offsets.back(), 3750u);
  EXPECT_EQ(sink.last_diff, R"([{"op": "replace", "path": "$.age", "value": 42}])");
}

// Walks the rows of the fixture's PARTIAL_UPDATE_ROWS event by hand (table t: id INT, json_col
// JSON, name VARCHAR(100) utf8mb4, age INT; before-image = id only) and applies each JSON diff to
// the document the preceding full UPDATE left for that id.
TEST(JsonDiffFixture, RealDiffsApplyToThePreviousAfterImages) {
  Decoder decoder;
  JsonSink sink;
  (void)DecodeBinlogFile(FixturePath(), &decoder, &sink);
  ASSERT_EQ(sink.docs.size(), 6u);
  EXPECT_EQ(sink.docs[1], R"({"age": 25, "data": "xxxxxxxxxx", "name": "Joe"})");

  std::ifstream in(FixturePath(), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string file = ss.str();
  const size_t kEvent = 3750;
  ASSERT_GT(file.size(), kEvent + 19);
  ASSERT_EQ(static_cast<uint8_t>(file[kEvent + 4]), 39);  // PARTIAL_UPDATE_ROWS
  uint32_t size;
  std::memcpy(&size, file.data() + kEvent + 9, 4);
  // Header 19, table id 6, flags 2, extra-data length 2 (=2, none), width 1, two bitmaps; CRC32.
  ByteReader r(std::string_view(file).substr(kEvent + 19, size - 19 - 4));
  ASSERT_TRUE(r.Skip(6 + 2 + 2));
  uint64_t width;
  ASSERT_TRUE(r.ReadPackedInt(&width));
  ASSERT_EQ(width, 4u);
  uint8_t before_bits, after_bits;
  ASSERT_TRUE(r.ReadU8(&before_bits) && r.ReadU8(&after_bits));
  ASSERT_EQ(before_bits, 0x01);  // MINIMAL: the primary key only
  ASSERT_EQ(after_bits, 0x0e);   // json_col, name, age

  ColumnDef col;
  col.type = kTypeJson;
  col.meta = 4;
  std::map<int64_t, std::string> after_docs;
  while (!r.empty()) {
    uint8_t nulls, partial_bits;
    uint32_t id, age;
    uint64_t options;
    uint16_t name_len;
    std::string_view name;
    ASSERT_TRUE(r.ReadU8(&nulls) && r.ReadU32(&id));
    ASSERT_TRUE(r.ReadPackedInt(&options) && r.ReadU8(&partial_bits) && r.ReadU8(&nulls));
    ASSERT_EQ(options, 1u);  // PARTIAL_JSON_UPDATES
    ASSERT_EQ(partial_bits, 1u);
    ASSERT_TRUE(sink.docs.count(id));
    Value out;
    Status st = DecodePartialJson(col, r, Json(sink.docs[id]), &out);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_TRUE(r.ReadU16(&name_len) && r.ReadBytes(name_len, &name) && r.ReadU32(&age));
    after_docs[id] = out.text;
    // The generated columns of the after-image agree with the rebuilt document.
    EXPECT_NE(out.text.find("\"age\": " + std::to_string(age) + ","), std::string::npos);
    EXPECT_NE(out.text.find("\"name\": \"" + std::string(name) + "\""), std::string::npos);
  }
  // UPDATE t SET json_col = JSON_REPLACE(json_col, '$.age', age + 1): one REPLACE of $.age each.
  std::map<int64_t, std::string> expected = {
      {1, R"({"age": 26, "data": "xxxxxxxxxx", "name": "Joe"})"},
      {2, R"({"age": 34, "data": "yyyyyyyyyy", "name": "Sue"})"},
      {3, R"({"age": 42, "data": "zzzzzzzzzz", "name": "Pete"})"},
      {4, R"({"age": 26, "data": "xxxxxxxxxx", "name": "Joe"})"},
      {5, R"({"age": 34, "data": "yyyyyyyyyy", "name": "Sue"})"},
      {6, R"({"age": 42, "data": "zzzzzzzzzz", "name": "Pete"})"},
  };
  EXPECT_EQ(after_docs, expected);
}

}  // namespace
}  // namespace binlake::binlog
