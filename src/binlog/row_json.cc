#include "binlog/row_json.h"

namespace binlake::binlog {
namespace {

void AppendImage(const TableMap& map, const std::vector<Value>& values,
                 const std::vector<bool>& present, const RowJsonOptions& options,
                 std::string* out) {
  out->push_back('{');
  bool first = true;
  for (size_t i = 0; i < values.size(); i++) {
    if (!present[i] || values[i].kind == ValueKind::kJsonDiff) continue;
    if (!first) out->push_back(',');
    first = false;
    const std::string& name = map.columns[i].name;
    if (name.empty()) {
      out->append("\"@").append(std::to_string(i + 1)).push_back('"');
    } else {
      AppendJsonString(name, out);
    }
    out->push_back(':');
    const Value& v = values[i];
    if (options.enum_set_as_numbers && (v.kind == ValueKind::kEnum || v.kind == ValueKind::kSet)) {
      out->append(std::to_string(v.u));
    } else {
      v.AppendJson(out);
    }
  }
  out->push_back('}');
}

// MySQL partial JSON updates without a before-image: the column's diffs, since its document is not
// in the binlog. {"col":[{"op":"replace","path":"$.a","value":1}]}
void AppendJsonDiffs(const TableMap& map, const std::vector<Value>& values,
                     const std::vector<bool>& present, std::string* out) {
  bool first = true;
  for (size_t i = 0; i < values.size(); i++) {
    if (!present[i] || values[i].kind != ValueKind::kJsonDiff) continue;
    out->append(first ? ",\"after_json_diffs\":{" : ",");
    first = false;
    const std::string& name = map.columns[i].name;
    if (name.empty()) {
      out->append("\"@").append(std::to_string(i + 1)).push_back('"');
    } else {
      AppendJsonString(name, out);
    }
    out->push_back(':');
    out->append(values[i].text);
  }
  if (!first) out->push_back('}');
}

}  // namespace

void AppendRowJson(const EventContext& ctx, const RowChange& row, std::string* out,
                   const RowJsonOptions& options) {
  out->append("{\"pos\":");
  AppendJsonString(std::string(ctx.file) + ":" + std::to_string(ctx.offset), out);
  out->append(",\"gtid\":");
  if (ctx.gtid.empty()) {
    out->append("null");
  } else {
    AppendJsonString(ctx.gtid, out);
  }
  out->append(",\"op\":\"").push_back(row.op);
  out->append("\",\"schema\":");
  AppendJsonString(row.table->schema, out);
  out->append(",\"table\":");
  AppendJsonString(row.table->table, out);
  if (row.op != 'I') {
    out->append(",\"before\":");
    AppendImage(*row.table, row.before, row.before_present, options, out);
  }
  if (row.op != 'D') {
    out->append(",\"after\":");
    AppendImage(*row.table, row.after, row.after_present, options, out);
    AppendJsonDiffs(*row.table, row.after, row.after_present, out);
  }
  out->append("}\n");
}

}  // namespace binlake::binlog
