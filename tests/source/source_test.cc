// TableFilter globs and the canonical text of decoded values (docs/staging.md).
#include "source/source.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "testing/status_matchers.h"

namespace binlake::source {
namespace {

using binlog::Value;
using binlog::ValueKind;

TEST(SourceTableFilter, GlobsOverSchemaDotTable) {
  TableFilter all;
  EXPECT_TRUE(all.Matches("shop", "orders"));
  EXPECT_FALSE(all.Matches("mysql", "user"));
  EXPECT_FALSE(all.Matches("information_schema", "TABLES"));
  EXPECT_FALSE(all.Matches("performance_schema", "threads"));
  EXPECT_FALSE(all.Matches("sys", "x"));
  EXPECT_FALSE(all.Matches("MySQL", "user"));

  TableFilter f;
  f.include = {"shop.order?", "crm.*"};
  f.exclude = {"crm.tmp_*"};
  EXPECT_TRUE(f.Matches("shop", "orders"));
  EXPECT_FALSE(f.Matches("shop", "order"));
  EXPECT_FALSE(f.Matches("shop", "orders2"));
  EXPECT_TRUE(f.Matches("crm", "contacts"));
  EXPECT_FALSE(f.Matches("crm", "tmp_x"));
  EXPECT_FALSE(f.Matches("shopx", "orders"));

  TableFilter none;
  none.include = {};
  EXPECT_FALSE(none.Matches("shop", "orders"));
  TableFilter star;
  star.include = {"*a*b*"};
  EXPECT_TRUE(star.Matches("xa", "yb"));
  EXPECT_FALSE(star.Matches("xb", "ya"));
}

std::string Text(const Value& v) {
  std::string out;
  Status st = CanonicalText(v, &out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

Value Float(double d, ValueKind k = ValueKind::kFloat) {
  Value v;
  v.kind = k;
  v.d = d;
  return v;
}

TEST(CanonicalText, Numbers) {
  EXPECT_EQ(Text(Float(static_cast<float>(3.14))), "3.14");
  EXPECT_EQ(Text(Float(static_cast<float>(1e20))), "1e+20");
  EXPECT_EQ(Text(Float(static_cast<float>(1e-10))), "1e-10");
  EXPECT_EQ(Text(Float(16777216.0f)), "16777216");
  EXPECT_EQ(Text(Float(-0.0)), "0");
  EXPECT_EQ(Text(Float(std::numeric_limits<float>::max())), "3.4028235e+38");
  EXPECT_EQ(Text(Float(0.1 + 0.2, ValueKind::kDouble)), "0.30000000000000004");
  EXPECT_EQ(Text(Float(1e20, ValueKind::kDouble)), "1e+20");
  EXPECT_EQ(Text(Float(-0.0, ValueKind::kDouble)), "0");
  EXPECT_EQ(Text(Float(std::numeric_limits<double>::max(), ValueKind::kDouble)),
            "1.7976931348623157e+308");
  Value bit;
  bit.kind = ValueKind::kBit;
  bit.u = ~uint64_t{0};
  EXPECT_EQ(Text(bit), "18446744073709551615");
  Value i;
  i.kind = ValueKind::kInt;
  i.i = -9223372036854775807LL - 1;
  EXPECT_EQ(Text(i), "-9223372036854775808");
  Value dec;
  dec.kind = ValueKind::kDecimal;
  dec.text = "-0.50";
  EXPECT_EQ(Text(dec), "-0.50");
}

TEST(CanonicalText, BytesGeometryJson) {
  Value b;
  b.kind = ValueKind::kBytes;
  b.text = std::string("\x00\xab\x7f", 3);
  EXPECT_EQ(Text(b), "00AB7F");
  Value g;
  g.kind = ValueKind::kGeometry;
  g.u = 4326;
  g.text = std::string("\x01\x01\x00\x00\x00", 5);
  EXPECT_EQ(Text(g), "E61000000101000000");
  Value j;
  j.kind = ValueKind::kJson;
  j.text = R"({"a": 1})";
  EXPECT_EQ(Text(j), R"({"a": 1})");
  Value diff;
  diff.kind = ValueKind::kJsonDiff;
  std::string out;
  Status st = CanonicalText(diff, &out);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "partial JSON update without a before-image: set binlog_row_image=FULL");
}

TEST(CanonicalText, TemporalAndEnumNames) {
  Value ts;
  ts.kind = ValueKind::kTimestamp;
  ts.i = 1709251199;
  ts.t.micros = 1;
  ts.fsp = 6;
  EXPECT_EQ(Text(ts), "2024-02-29 23:59:59.000001");
  Value zero;
  zero.kind = ValueKind::kTimestamp;
  EXPECT_EQ(Text(zero), "0000-00-00 00:00:00");
  Value t;
  t.kind = ValueKind::kTime;
  t.t.hour = 838;
  t.t.minute = 59;
  t.t.second = 59;
  t.t.negative = true;
  EXPECT_EQ(Text(t), "-838:59:59");

  staging::ColumnSchema col;
  col.enum_values = {"a", "b", "c"};
  Value e;
  e.kind = ValueKind::kEnum;
  e.u = 2;
  std::string out;
  ASSERT_OK(CanonicalText(e, col, &out));
  EXPECT_EQ(out, "b");
  Value s;
  s.kind = ValueKind::kSet;
  s.u = 5;
  ASSERT_OK(CanonicalText(s, col, &out));
  EXPECT_EQ(out, "a,c");
  s.names_known = true;
  s.text = "a,c";
  ASSERT_OK(CanonicalText(s, col, &out));
  EXPECT_EQ(out, "a,c");
}

}  // namespace
}  // namespace binlake::source
