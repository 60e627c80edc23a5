// MySQL column types to exact Arrow/Parquet and Delta types, and canonical CSV text to values.
#include <arrow/util/decimal.h>
#include <arrow/util/utf8.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "lake/lake.h"
#include "lake/lake_internal.h"

namespace binlake::lake {
namespace {

// "decimal(10,2) unsigned" -> "decimal"; args -> {10, 2}.
std::string BaseType(const std::string& mysql_type, std::vector<int>* args) {
  std::string base;
  size_t i = 0;
  while (i < mysql_type.size() && mysql_type[i] != '(' && mysql_type[i] != ' ') {
    base.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(mysql_type[i]))));
    i++;
  }
  if (i < mysql_type.size() && mysql_type[i] == '(') {
    size_t end = mysql_type.find(')', i);
    std::string inner = mysql_type.substr(i + 1, end == std::string::npos ? end : end - i - 1);
    size_t p = 0;
    while (p <= inner.size()) {
      size_t comma = inner.find(',', p);
      if (comma == std::string::npos) comma = inner.size();
      int v = 0;
      auto r = std::from_chars(inner.data() + p, inner.data() + comma, v);
      if (r.ec == std::errc()) args->push_back(v);
      p = comma + 1;
    }
  }
  return base;
}

LakeType Make(ValueKind kind, std::shared_ptr<arrow::DataType> type, std::string delta) {
  return LakeType{kind, std::move(type), std::move(delta), false};
}

LakeType Decimal(int p, int s) {
  return Make(ValueKind::kDecimal, arrow::decimal128(p, s),
              "decimal(" + std::to_string(p) + "," + std::to_string(s) + ")");
}

// BIGINT UNSIGNED and BIT(64): decimal(20,0) holding 0..2^64-1 only.
LakeType Unsigned64() {
  LakeType t = Decimal(20, 0);
  t.unsigned64 = true;
  return t;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return int64_t{era} * 146097 + doe - 719468;
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// "yyyy-mm-dd": days since the epoch; nullopt for zero or invalid dates (MySQL allows them).
std::optional<int64_t> ParseDate(std::string_view s) {
  int y = 0, m = 0, d = 0;
  if (s.size() < 10 || s[4] != '-' || s[7] != '-' || !Digits(s, 0, 4, &y) || !Digits(s, 5, 2, &m) ||
      !Digits(s, 8, 2, &d)) {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1 || m < 1 || m > 12 || d < 1) return std::nullopt;
  if (d > kDays[m - 1] + (m == 2 && IsLeap(y) ? 1 : 0)) return std::nullopt;
  return DaysFromCivil(y, m, d);
}

// "yyyy-mm-dd hh:mm:ss[.ffffff]": microseconds since the epoch; nullopt for zero/invalid.
std::optional<int64_t> ParseDateTime(std::string_view s) {
  auto days = ParseDate(s);
  if (!days) return std::nullopt;
  int64_t micros = *days * 86400 * 1000000;
  if (s.size() == 10) return micros;
  int h = 0, mi = 0, sec = 0;
  if (s.size() < 19 || s[10] != ' ' || s[13] != ':' || s[16] != ':' || !Digits(s, 11, 2, &h) ||
      !Digits(s, 14, 2, &mi) || !Digits(s, 17, 2, &sec) || h > 23 || mi > 59 || sec > 59) {
    return std::nullopt;
  }
  int64_t frac = 0;
  if (s.size() > 19) {
    if (s[19] != '.' || s.size() > 26) return std::nullopt;
    int f = 0;
    const size_t n = s.size() - 20;
    if (n == 0 || !Digits(s, 20, n, &f)) return std::nullopt;
    frac = f;
    for (size_t i = n; i < 6; i++) frac *= 10;
  }
  return micros + ((int64_t{h} * 60 + mi) * 60 + sec) * 1000000 + frac;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

Status Check(const arrow::Status& s) {
  return s.ok() ? Status::Ok() : Status::Internal("arrow: " + s.ToString());
}

// The first bytes of a value as hex, for a message about bytes that are not text.
std::string HexPrefix(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s.substr(0, 32)) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

constexpr const char* kDamaged =
    " (docs/staging.md \"Values\"); the staging file is damaged: restore it or re-capture the "
    "table";

Status Bad(const LakeType& type, std::string_view text) {
  return Status::Corruption("value '" + std::string(text.substr(0, 64)) + "' is not a valid " +
                            type.delta + kDamaged);
}

// The shape of a canonical DATE / DATETIME text, valid or not ("0000-00-00", "2023-02-30" are
// NULL in the lake; "yesterday" is a damaged file).
bool DateShaped(std::string_view s) {
  int v = 0;
  return s.size() >= 10 && s[4] == '-' && s[7] == '-' && Digits(s, 0, 4, &v) &&
         Digits(s, 5, 2, &v) && Digits(s, 8, 2, &v);
}

bool DateTimeShaped(std::string_view s) {
  int v = 0;
  if (!DateShaped(s)) return false;
  if (s.size() == 10) return true;
  if (s.size() < 19 || s[10] != ' ' || s[13] != ':' || s[16] != ':' || !Digits(s, 11, 2, &v) ||
      !Digits(s, 14, 2, &v) || !Digits(s, 17, 2, &v)) {
    return false;
  }
  return s.size() == 19 ||
         (s[19] == '.' && s.size() > 20 && s.size() <= 26 && Digits(s, 20, s.size() - 20, &v));
}

// The canonical text of a decimal(precision, scale) with exactly `scale` fraction digits and at
// most 18 digits (docs/staging.md), as its unscaled integer; nullopt for anything else (the slow,
// general path decides).
std::optional<int64_t> SmallDecimal(std::string_view s, int precision, int scale) {
  size_t i = 0;
  const bool neg = !s.empty() && s[0] == '-';
  if (neg) i++;
  int64_t v = 0;
  int digits = 0, frac = -1;
  for (; i < s.size(); i++) {
    const char ch = s[i];
    if (ch == '.') {
      if (frac >= 0) return std::nullopt;
      frac = 0;
      continue;
    }
    if (ch < '0' || ch > '9' || ++digits > 18) return std::nullopt;
    v = v * 10 + (ch - '0');
    if (frac >= 0) frac++;
  }
  if (digits == 0 || frac == 0 || (frac < 0 ? 0 : frac) != scale) return std::nullopt;
  if (precision < 18) {
    int64_t limit = 1;
    for (int k = 0; k < precision; k++) limit *= 10;
    if (v >= limit) return std::nullopt;
  }
  return neg ? -v : v;
}

template <typename T, typename B>
Status AppendInt(const LakeType& type, std::string_view text, arrow::ArrayBuilder* builder) {
  T v{};
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return Bad(type, text);
  return Check(static_cast<B*>(builder)->Append(v));
}

}  // namespace

Result<LakeType> MapColumn(const staging::ColumnSchema& c) {
  std::vector<int> args;
  const std::string base = BaseType(c.mysql_type, &args);
  const bool u = c.is_unsigned || c.mysql_type.find("unsigned") != std::string::npos;
  if (base == "tinyint" || base == "bool" || base == "boolean") {
    return u ? Make(ValueKind::kInt, arrow::int16(), "short")
             : Make(ValueKind::kInt, arrow::int8(), "byte");
  }
  if (base == "smallint") {
    return u ? Make(ValueKind::kInt, arrow::int32(), "integer")
             : Make(ValueKind::kInt, arrow::int16(), "short");
  }
  if (base == "mediumint") return Make(ValueKind::kInt, arrow::int32(), "integer");
  if (base == "int" || base == "integer") {
    return u ? Make(ValueKind::kInt, arrow::int64(), "long")
             : Make(ValueKind::kInt, arrow::int32(), "integer");
  }
  if (base == "bigint") return u ? Unsigned64() : Make(ValueKind::kInt, arrow::int64(), "long");
  if (base == "decimal" || base == "numeric") {
    const int p = args.empty() ? 10 : args[0];
    const int s = args.size() < 2 ? 0 : args[1];
    if (p <= 38) return Decimal(p, s);
    return Make(ValueKind::kString, arrow::utf8(), "string");
  }
  if (base == "float") return Make(ValueKind::kFloat, arrow::float32(), "float");
  if (base == "double" || base == "real")
    return Make(ValueKind::kDouble, arrow::float64(), "double");
  if (base == "date") return Make(ValueKind::kDate, arrow::date32(), "date");
  if (base == "datetime") {
    return Make(ValueKind::kTimestampNtz, arrow::timestamp(arrow::TimeUnit::MICRO),
                "timestamp_ntz");
  }
  if (base == "timestamp") {
    return Make(ValueKind::kTimestamp, arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"),
                "timestamp");
  }
  if (base == "year") return Make(ValueKind::kInt, arrow::int16(), "short");
  if (base == "bit") {
    const int n = args.empty() ? 1 : args[0];
    return n < 64 ? Make(ValueKind::kInt, arrow::int64(), "long") : Unsigned64();
  }
  if (base == "time" || base == "char" || base == "varchar" || base == "tinytext" ||
      base == "text" || base == "mediumtext" || base == "longtext" || base == "enum" ||
      base == "set" || base == "json") {
    return Make(ValueKind::kString, arrow::utf8(), "string");
  }
  if (base == "binary" || base == "varbinary" || base == "tinyblob" || base == "blob" ||
      base == "mediumblob" || base == "longblob" || base == "geometry" || base == "point" ||
      base == "linestring" || base == "polygon" || base == "multipoint" ||
      base == "multilinestring" || base == "multipolygon" || base == "geometrycollection") {
    return Make(ValueKind::kBinary, arrow::binary(), "binary");
  }
  return Status::NotSupported("column " + c.name + " of type " + c.mysql_type +
                              " has no lake type yet (docs/lake.md \"Types\")");
}

Status AppendValue(const LakeType& type, const std::optional<std::string_view>& text,
                   arrow::ArrayBuilder* builder) {
  if (!text) return Check(builder->AppendNull());
  const std::string_view s = *text;
  switch (type.kind) {
    case ValueKind::kInt:
      switch (type.arrow->id()) {
        case arrow::Type::INT8:
          return AppendInt<int8_t, arrow::Int8Builder>(type, s, builder);
        case arrow::Type::INT16:
          return AppendInt<int16_t, arrow::Int16Builder>(type, s, builder);
        case arrow::Type::INT32:
          return AppendInt<int32_t, arrow::Int32Builder>(type, s, builder);
        default:
          return AppendInt<int64_t, arrow::Int64Builder>(type, s, builder);
      }
    case ValueKind::kDecimal: {
      const auto& dt = static_cast<const arrow::DecimalType&>(*type.arrow);
      if (auto fast = SmallDecimal(s, dt.precision(), dt.scale());
          fast && !(type.unsigned64 && *fast < 0)) {
        return Check(
            static_cast<arrow::Decimal128Builder*>(builder)->Append(arrow::Decimal128(*fast)));
      }
      arrow::Decimal128 v;
      int32_t precision = 0, scale = 0;
      if (!arrow::Decimal128::FromString(s, &v, &precision, &scale).ok()) return Bad(type, s);
      if (scale != dt.scale()) {
        auto r = v.Rescale(scale, dt.scale());
        if (!r.ok()) return Bad(type, s);
        v = *r;
      }
      if (!v.FitsInPrecision(dt.precision())) return Bad(type, s);
      if (type.unsigned64 && (v.Sign() < 0 || v > arrow::Decimal128(0, ~uint64_t{0}))) {
        return Status::Corruption("value '" + std::string(s.substr(0, 64)) +
                                  "' is out of the BIGINT UNSIGNED range" + kDamaged);
      }
      return Check(static_cast<arrow::Decimal128Builder*>(builder)->Append(v));
    }
    case ValueKind::kFloat: {
      float v = 0;
      auto r = std::from_chars(s.data(), s.data() + s.size(), v);
      if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return Bad(type, s);
      return Check(static_cast<arrow::FloatBuilder*>(builder)->Append(v));
    }
    case ValueKind::kDouble: {
      double v = 0;
      auto r = std::from_chars(s.data(), s.data() + s.size(), v);
      if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return Bad(type, s);
      return Check(static_cast<arrow::DoubleBuilder*>(builder)->Append(v));
    }
    case ValueKind::kDate: {
      auto d = ParseDate(s);
      if (!d && !DateShaped(s)) return Bad(type, s);
      if (!d) return Check(builder->AppendNull());  // zero/invalid dates: null (docs/lake.md)
      return Check(static_cast<arrow::Date32Builder*>(builder)->Append(static_cast<int32_t>(*d)));
    }
    case ValueKind::kTimestampNtz:
    case ValueKind::kTimestamp: {
      auto t = ParseDateTime(s);
      if (!t && !DateTimeShaped(s)) return Bad(type, s);
      if (!t) return Check(builder->AppendNull());
      return Check(static_cast<arrow::TimestampBuilder*>(builder)->Append(*t));
    }
    case ValueKind::kString: {
      static const bool utf8_ready = (arrow::util::InitializeUTF8(), true);
      (void)utf8_ready;
      if (!arrow::util::ValidateUTF8(s)) {
        return Status::Corruption("value '" + std::string(HexPrefix(s)) +
                                  "' (hex) is not valid UTF-8 text" + kDamaged);
      }
      return Check(static_cast<arrow::StringBuilder*>(builder)->Append(s));
    }
    case ValueKind::kBinary: {
      if (s.size() % 2 != 0) return Bad(type, s);
      std::string bytes(s.size() / 2, '\0');
      for (size_t i = 0; i < bytes.size(); i++) {
        const int hi = HexValue(s[2 * i]), lo = HexValue(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return Bad(type, s);
        bytes[i] = static_cast<char>(hi * 16 + lo);
      }
      return Check(static_cast<arrow::BinaryBuilder*>(builder)->Append(bytes));
    }
  }
  return Status::Internal("unknown lake value kind");
}

int BucketOf(const std::vector<std::string_view>& key_texts, int buckets) {
  uint64_t h = 1469598103934665603ULL;
  bool first = true;
  for (std::string_view t : key_texts) {
    if (!first) h = (h ^ 0x1fU) * 1099511628211ULL;
    first = false;
    for (unsigned char c : t) h = (h ^ c) * 1099511628211ULL;
  }
  return static_cast<int>(h % static_cast<uint64_t>(buckets));
}

}  // namespace binlake::lake

namespace binlake::lake {

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Check(const arrow::Status& s, const std::string& where) {
  if (s.ok()) return Status::Ok();
  if (const auto& d = s.detail(); d && std::string_view(d->type_id()) == "binlake::store") {
    const Status& inner = static_cast<const StoreStatusDetail&>(*d).status();
    return Status(inner.code(), where + ": " + inner.message());
  }
  return Status::Internal(where + ": arrow: " + s.ToString());
}

arrow::Status ToArrow(const Status& s) {
  if (s.ok()) return arrow::Status::OK();
  return arrow::Status(arrow::StatusCode::IOError, s.message(),
                       std::make_shared<StoreStatusDetail>(s));
}

std::string NewUuid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const uint64_t a = rng(), b = rng();
  char out[37];
  std::snprintf(out, sizeof(out), "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return out;
}

std::string FormatDate(int64_t days) {
  // Howard Hinnant's civil_from_days.
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char out[64];
  std::snprintf(out, sizeof(out), "%04lld-%02lld-%02lld", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d));
  return out;
}

std::string FormatMicros(int64_t micros, char separator) {
  int64_t days = micros / 86400000000LL;
  int64_t rem = micros % 86400000000LL;
  if (rem < 0) {
    rem += 86400000000LL;
    days--;
  }
  const int64_t secs = rem / 1000000;
  char out[96];
  std::snprintf(out, sizeof(out), "%c%02lld:%02lld:%02lld.%06lld", separator,
                static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                static_cast<long long>(secs % 60), static_cast<long long>(rem % 1000000));
  return FormatDate(days) + out;
}

Result<std::shared_ptr<arrow::Schema>> ArrowSchemaFromDelta(const std::string& schema_string) {
  auto j = nlohmann::json::parse(schema_string, nullptr, false);
  if (j.is_discarded() || !j.contains("fields")) {
    return Status::Corruption("Delta schemaString is not a Spark struct schema");
  }
  arrow::FieldVector fields;
  for (const auto& f : j["fields"]) {
    const std::string t = f.value("type", "");
    std::shared_ptr<arrow::DataType> type;
    int p = 0, s = 0;
    if (t == "byte")
      type = arrow::int8();
    else if (t == "short")
      type = arrow::int16();
    else if (t == "integer")
      type = arrow::int32();
    else if (t == "long")
      type = arrow::int64();
    else if (t == "float")
      type = arrow::float32();
    else if (t == "double")
      type = arrow::float64();
    else if (t == "date")
      type = arrow::date32();
    else if (t == "timestamp_ntz")
      type = arrow::timestamp(arrow::TimeUnit::MICRO);
    else if (t == "timestamp")
      type = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
    else if (t == "string")
      type = arrow::utf8();
    else if (t == "binary")
      type = arrow::binary();
    else if (std::sscanf(t.c_str(), "decimal(%d,%d)", &p, &s) == 2)
      type = arrow::decimal128(p, s);
    else
      return Status::NotSupported("Delta type " + t + " is not one binlake writes");
    fields.push_back(arrow::field(f.value("name", ""), type, f.value("nullable", true)));
  }
  return arrow::schema(fields);
}

}  // namespace binlake::lake
