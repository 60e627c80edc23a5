// The canonical CSV text of a value (docs/staging.md), shared by the binlog side and the full load.
#include <charconv>
#include <cmath>

#include "source/internal.h"
#include "source/source.h"

namespace binlake::source {

void AppendShortestFloat(float f, std::string* out) {
  if (f == 0) f = 0;  // -0 -> 0: a SELECT cannot tell them apart
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), f);
  out->append(buf, r.ptr);
}

void AppendShortestDouble(double d, std::string* out) {
  if (d == 0) d = 0;
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), d);
  out->append(buf, r.ptr);
}

void AppendHexUpper(std::string_view bytes, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  size_t at = out->size();
  out->resize(at + bytes.size() * 2);
  char* p = out->data() + at;
  for (unsigned char c : bytes) {
    *p++ = kHex[c >> 4];
    *p++ = kHex[c & 15];
  }
}

namespace {

void AppendSetNames(uint64_t mask, const std::vector<std::string>& names, std::string* out) {
  bool first = true;
  for (size_t i = 0; i < names.size() && i < 64; i++) {
    if (!(mask >> i & 1)) continue;
    if (!first) out->push_back(',');
    out->append(names[i]);
    first = false;
  }
}

}  // namespace

Status CanonicalText(const binlog::Value& v, std::string* out) {
  using binlog::ValueKind;
  out->clear();
  switch (v.kind) {
    case ValueKind::kNull:
      return Status::Ok();
    case ValueKind::kFloat:
      AppendShortestFloat(static_cast<float>(v.d), out);
      return Status::Ok();
    case ValueKind::kDouble:
      AppendShortestDouble(v.d, out);
      return Status::Ok();
    case ValueKind::kBytes:
      AppendHexUpper(v.text, out);
      return Status::Ok();
    case ValueKind::kGeometry: {
      char srid[4];
      for (int k = 0; k < 4; k++) srid[k] = static_cast<char>(v.u >> (8 * k));
      AppendHexUpper(std::string_view(srid, 4), out);
      AppendHexUpper(v.text, out);
      return Status::Ok();
    }
    case ValueKind::kJsonDiff:
      return Status::NotSupported(
          "partial JSON update without a before-image: set binlog_row_image=FULL");
    case ValueKind::kDecimal:
    case ValueKind::kString:
    case ValueKind::kJson:
      out->assign(v.text);
      return Status::Ok();
    default:
      *out = v.ToText();
      return Status::Ok();
  }
}

Status CanonicalText(const binlog::Value& v, const staging::ColumnSchema& column,
                     std::string* out) {
  using binlog::ValueKind;
  if ((v.kind == ValueKind::kEnum || v.kind == ValueKind::kSet) && !v.names_known) {
    out->clear();
    if (v.kind == ValueKind::kSet) {
      AppendSetNames(v.u, column.enum_values, out);
    } else if (v.u >= 1 && v.u <= column.enum_values.size()) {
      out->assign(column.enum_values[v.u - 1]);
    }  // index 0 is the '' error value
    return Status::Ok();
  }
  return CanonicalText(v, out);
}

}  // namespace binlake::source
