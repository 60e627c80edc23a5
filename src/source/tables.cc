// Table selection and table schemas: information_schema on one side, TABLE_MAP on the other,
// computed alike so that a stream's table map and the listed schema compare equal.
#include <algorithm>
#include <charconv>
#include <map>
#include <regex>
#include <set>
#include <string_view>

#include "source/internal.h"
#include "source/source.h"

namespace binlake::source {
namespace {

using staging::ColumnSchema;

bool IsSystemSchema(const std::string& schema) {
  std::string s = schema;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s == "mysql" || s == "information_schema" || s == "performance_schema" || s == "sys";
}

// Iterative glob with backtracking to the last `*`: linear in practice, no recursion.
bool Glob(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      p++;
      t++;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') p++;
  return p == pattern.size();
}

uint64_t ToU64(const std::optional<std::string>& s) {
  uint64_t v = 0;
  if (s) std::from_chars(s->data(), s->data() + s->size(), v);
  return v;
}

// The values of COLUMN_TYPE "enum('a','b''c')": quotes doubled, backslashes escaped.
std::vector<std::string> ParseEnumValues(const std::string& column_type) {
  std::vector<std::string> out;
  size_t i = column_type.find('(');
  if (i == std::string::npos) return out;
  for (i++; i < column_type.size(); i++) {
    if (column_type[i] != '\'') continue;
    std::string v;
    for (i++; i < column_type.size(); i++) {
      char c = column_type[i];
      if (c == '\'' && i + 1 < column_type.size() && column_type[i + 1] == '\'') {
        v += '\'';
        i++;
      } else if (c == '\'') {
        break;
      } else if (c == '\\' && i + 1 < column_type.size()) {
        char e = column_type[++i];
        v += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == '0' ? '\0' : e;
      } else {
        v += c;
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

uint16_t SetPackLength(size_t n) {
  size_t len = (n + 7) / 8;
  return static_cast<uint16_t>(len > 4 ? 8 : len);
}

// Fills binlog_type/meta/is_unsigned/collation of `c` as the server's TABLE_MAP logs them.
Status ResolveBinlogType(bool mariadb, const std::string& data_type, uint64_t octets,
                         uint64_t precision, uint64_t scale, uint64_t fsp, ColumnSchema* c) {
  const std::string& t = data_type;
  const bool is_unsigned = c->mysql_type.find("unsigned") != std::string::npos;
  auto set = [&](uint8_t type, uint64_t meta) {
    c->binlog_type = type;
    c->binlog_meta = static_cast<uint16_t>(meta);
  };
  if (t == "tinyint" || t == "smallint" || t == "mediumint" || t == "int" || t == "integer" ||
      t == "bigint") {
    set(t == "tinyint"     ? binlog::kTypeTiny
        : t == "smallint"  ? binlog::kTypeShort
        : t == "mediumint" ? binlog::kTypeInt24
        : t == "bigint"    ? binlog::kTypeLongLong
                           : binlog::kTypeLong,
        0);
    c->is_unsigned = is_unsigned;
  } else if (t == "decimal" || t == "numeric") {
    set(binlog::kTypeNewDecimal, (precision << 8) | scale);
    c->is_unsigned = is_unsigned;
  } else if (t == "float") {
    set(binlog::kTypeFloat, 4);
    c->is_unsigned = is_unsigned;
  } else if (t == "double" || t == "real" || t == "double precision") {
    set(binlog::kTypeDouble, 8);
    c->is_unsigned = is_unsigned;
  } else if (t == "bit") {
    set(binlog::kTypeBit, ((precision % 8) << 8) | (precision / 8));
  } else if (t == "year") {
    set(binlog::kTypeYear, 0);
  } else if (t == "date") {
    set(binlog::kTypeDate, 0);
  } else if (t == "datetime") {
    set(binlog::kTypeDateTime2, fsp);
  } else if (t == "timestamp") {
    set(binlog::kTypeTimestamp2, fsp);
  } else if (t == "time") {
    set(binlog::kTypeTime2, fsp);
  } else if (t == "char" || t == "binary") {
    set(binlog::kTypeString, octets);
  } else if (t == "varchar" || t == "varbinary") {
    set(binlog::kTypeVarchar, octets);
  } else if (t == "tinyblob" || t == "tinytext") {
    set(binlog::kTypeBlob, 1);
  } else if (t == "blob" || t == "text") {
    set(binlog::kTypeBlob, 2);
  } else if (t == "mediumblob" || t == "mediumtext") {
    set(binlog::kTypeBlob, 3);
  } else if (t == "longblob" || t == "longtext") {
    set(binlog::kTypeBlob, 4);
  } else if (t == "json") {
    // MariaDB's JSON is LONGTEXT (information_schema already says so); MySQL's is binary JSON.
    set(mariadb ? binlog::kTypeBlob : binlog::kTypeJson, 4);
  } else if (t == "enum") {
    set(binlog::kTypeEnum, c->enum_values.size() > 255 ? 2 : 1);
  } else if (t == "set") {
    set(binlog::kTypeSet, SetPackLength(c->enum_values.size()));
  } else if (t == "geometry" || t == "point" || t == "linestring" || t == "polygon" ||
             t == "multipoint" || t == "multilinestring" || t == "multipolygon" ||
             t == "geometrycollection" || t == "geomcollection") {
    set(binlog::kTypeGeometry, 4);
    c->collation = 63;
  } else {
    return Status::NotSupported("column type " + c->mysql_type + " is not supported");
  }
  if (t == "binary" || t == "varbinary" || t.ends_with("blob")) c->collation = 63;
  return Status::Ok();
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::string SqlQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

Result<std::optional<std::string>> DefaultText(bool mariadb,
                                               const std::optional<std::string>& column_default,
                                               bool nullable, const std::string& data_type,
                                               const std::string& extra,
                                               const staging::ColumnSchema& column) {
  static const std::set<std::string> kInts = {"tinyint", "smallint", "mediumint",
                                              "int",     "bigint",   "year"};
  static const std::set<std::string> kTexts = {"char",       "varchar",  "tinytext", "text",
                                               "mediumtext", "longtext", "enum",     "set"};
  const bool numeric = kInts.count(data_type) || data_type == "decimal" || data_type == "float" ||
                       data_type == "double";
  const bool text = kTexts.count(data_type) > 0;
  const bool temporal = data_type == "date" || data_type == "datetime" || data_type == "time";
  // MariaDB spells a NULL default as the text NULL; MySQL as SQL NULL.
  const bool null_default = !column_default || (mariadb && *column_default == "NULL");
  if (null_default && nullable) return std::optional<std::string>();
  if (!numeric && !text && !temporal) {
    return Status::NotSupported("has a default of type " + data_type);
  }
  if (extra.find("DEFAULT_GENERATED") != std::string::npos) {
    return Status::NotSupported("has an expression as its default");
  }
  if (null_default) {  // NOT NULL without a DEFAULT: the type's implicit default
    if (data_type == "decimal") {
      const size_t comma = column.mysql_type.find(',');
      const int scale =
          comma == std::string::npos ? 0 : std::atoi(column.mysql_type.c_str() + comma + 1);
      return std::optional<std::string>(
          scale > 0 ? "0." + std::string(static_cast<size_t>(scale), '0') : std::string("0"));
    }
    if (numeric) return std::optional<std::string>("0");
    if (data_type == "enum") {
      return std::optional<std::string>(column.enum_values.empty() ? std::string()
                                                                   : column.enum_values[0]);
    }
    if (text) return std::optional<std::string>(std::string());
    if (data_type == "time") return std::optional<std::string>("00:00:00");
    return std::optional<std::string>();  // a zero date: NULL in the lake
  }
  std::string v = *column_default;
  if (mariadb) {
    // MariaDB quotes literals ('abc', '2024-01-01') and shows expressions bare
    // (current_timestamp(), 1+1); numbers are bare too.
    if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') {
      std::string out;
      for (size_t i = 1; i + 1 < v.size(); i++) {
        if (v[i] == '\'' && i + 2 < v.size() && v[i + 1] == '\'') {
          out += '\'';
          i++;
        } else if (v[i] == '\\' && i + 2 < v.size()) {
          const char e = v[++i];
          out += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == '0' ? '\0' : e;
        } else {
          out += v[i];
        }
      }
      v = std::move(out);
    } else {
      static const std::regex kNumber(R"([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)");
      if (!numeric || !std::regex_match(v, kNumber)) {
        return Status::NotSupported("has an expression as its default (" + v + ")");
      }
    }
  }
  if ((data_type == "date" && v.starts_with("0000-00-00")) ||
      (data_type == "datetime" && v.starts_with("0000-00-00"))) {
    return std::optional<std::string>();  // a zero date: NULL in the lake
  }
  return std::optional<std::string>(std::move(v));
}

std::string QuoteIdent(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out += '`';
    out += c;
  }
  return out + "`";
}

bool TableFilter::Matches(const std::string& schema, const std::string& table) const {
  if (IsSystemSchema(schema)) return false;
  const std::string name = schema + "." + table;
  bool in = std::any_of(include.begin(), include.end(),
                        [&](const std::string& p) { return Glob(p, name); });
  return in && std::none_of(exclude.begin(), exclude.end(),
                            [&](const std::string& p) { return Glob(p, name); });
}

namespace {

template <class Client>
Result<std::vector<staging::TableSchema>> ListTablesWith(Client& client,
                                                         const TableFilter& filter) {
  BL_ASSIGN_OR_RETURN(auto table_rows,
                      client.Query("SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "
                                   "WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY 1, 2"));
  std::vector<staging::TableSchema> tables;
  std::map<std::pair<std::string, std::string>, size_t> index;
  std::set<std::string> schemas;
  for (const auto& r : table_rows) {
    if (!r[0] || !r[1] || !filter.Matches(*r[0], *r[1])) continue;
    staging::TableSchema t;
    t.schema = *r[0];
    t.table = *r[1];
    index[{t.schema, t.table}] = tables.size();
    schemas.insert(t.schema);
    tables.push_back(std::move(t));
  }
  if (tables.empty()) return tables;
  std::string in_list;
  for (const auto& s : schemas) in_list += (in_list.empty() ? "" : ", ") + SqlQuote(s);

  BL_ASSIGN_OR_RETURN(
      auto cols,
      // COLUMN_TYPE as it is: ENUM/SET names keep their case, as in the TABLE_MAP.
      client.Query("SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, LOWER(c.DATA_TYPE), "
                   "c.COLUMN_TYPE, c.IS_NULLABLE, c.CHARACTER_OCTET_LENGTH, "
                   "c.NUMERIC_PRECISION, c.NUMERIC_SCALE, c.DATETIME_PRECISION, co.ID "
                   "FROM information_schema.COLUMNS c LEFT JOIN information_schema.COLLATIONS co "
                   "ON co.COLLATION_NAME = c.COLLATION_NAME WHERE c.TABLE_SCHEMA IN (" +
                   in_list + ") ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION"));
  for (const auto& r : cols) {
    auto it = index.find({r[0].value_or(""), r[1].value_or("")});
    if (it == index.end()) continue;
    staging::TableSchema& t = tables[it->second];
    ColumnSchema c;
    c.name = r[2].value_or("");
    const std::string data_type = r[3].value_or("");
    c.mysql_type = r[4].value_or("");
    c.nullable = r[5].value_or("") == "YES";
    c.collation = static_cast<uint32_t>(ToU64(r[10]));
    if (data_type == "enum" || data_type == "set") c.enum_values = ParseEnumValues(c.mysql_type);
    Status st = ResolveBinlogType(client.is_mariadb(), data_type, ToU64(r[6]), ToU64(r[7]),
                                  ToU64(r[8]), ToU64(r[9]), &c);
    if (!st.ok()) {
      return Status::NotSupported("mysql " + client.endpoint() + ": table " + t.schema + "." +
                                  t.table + " column " + c.name + ": " + st.message() +
                                  " (exclude the table from the capture)");
    }
    t.columns.push_back(std::move(c));
  }

  BL_ASSIGN_OR_RETURN(
      auto keys, client.Query("SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, SEQ_IN_INDEX FROM "
                              "information_schema.STATISTICS WHERE INDEX_NAME = 'PRIMARY' AND "
                              "TABLE_SCHEMA IN (" +
                              in_list + ")"));
  for (const auto& r : keys) {
    auto it = index.find({r[0].value_or(""), r[1].value_or("")});
    if (it == index.end()) continue;
    for (auto& c : tables[it->second].columns) {
      if (c.name == r[2].value_or("")) c.pk_position = static_cast<int>(ToU64(r[3])) - 1;
    }
  }
  return tables;
}

}  // namespace

Result<std::vector<staging::TableSchema>> ListTables(binlog::BinlogClient& client,
                                                     const TableFilter& filter) {
  return ListTablesWith(client, filter);
}

Result<std::vector<staging::TableSchema>> ListTables(MysqlConn& conn, const TableFilter& filter) {
  return ListTablesWith(conn, filter);
}

namespace {

// COLUMN_TYPE-style text for a TABLE_MAP column (MySQL 8 spelling: no integer display widths).
std::string TypeText(const binlog::ColumnDef& c) {
  const char* u = c.is_unsigned ? " unsigned" : "";
  auto quoted = [](const std::vector<std::string>& values) {
    std::string out;
    for (const auto& v : values) {
      out += out.empty() ? "'" : ",'";
      for (char ch : v) out += ch == '\'' ? std::string("''") : std::string(1, ch);
      out += "'";
    }
    return out;
  };
  const bool binary = c.collation == 63;
  switch (c.type) {
    case binlog::kTypeTiny:
      return std::string("tinyint") + u;
    case binlog::kTypeShort:
      return std::string("smallint") + u;
    case binlog::kTypeInt24:
      return std::string("mediumint") + u;
    case binlog::kTypeLong:
      return std::string("int") + u;
    case binlog::kTypeLongLong:
      return std::string("bigint") + u;
    case binlog::kTypeNewDecimal:
      return "decimal(" + std::to_string(c.meta >> 8) + "," + std::to_string(c.meta & 0xff) + ")" +
             u;
    case binlog::kTypeFloat:
      return std::string("float") + u;
    case binlog::kTypeDouble:
      return std::string("double") + u;
    case binlog::kTypeBit:
      return "bit(" + std::to_string((c.meta & 0xff) * 8 + (c.meta >> 8)) + ")";
    case binlog::kTypeYear:
      return "year";
    case binlog::kTypeDate:
    case binlog::kTypeNewDate:
      return "date";
    case binlog::kTypeDateTime:
    case binlog::kTypeDateTime2:
      return c.meta ? "datetime(" + std::to_string(c.meta) + ")" : "datetime";
    case binlog::kTypeTimestamp:
    case binlog::kTypeTimestamp2:
      return c.meta ? "timestamp(" + std::to_string(c.meta) + ")" : "timestamp";
    case binlog::kTypeTime:
    case binlog::kTypeTime2:
      return c.meta ? "time(" + std::to_string(c.meta) + ")" : "time";
    case binlog::kTypeString:
      return (binary ? "binary(" : "char(") + std::to_string(c.meta) + ")";  // bytes, not chars
    case binlog::kTypeVarchar:
    case binlog::kTypeVarString:
      return (binary ? "varbinary(" : "varchar(") + std::to_string(c.meta) + ")";
    case binlog::kTypeBlob:
    case binlog::kTypeTinyBlob:
    case binlog::kTypeMediumBlob:
    case binlog::kTypeLongBlob: {
      static const char* kPrefix[] = {"", "tiny", "", "medium", "long"};
      return std::string(kPrefix[c.meta <= 4 ? c.meta : 0]) + (binary ? "blob" : "text");
    }
    case binlog::kTypeJson:
      return "json";
    case binlog::kTypeEnum:
      return "enum(" + quoted(c.enum_values) + ")";
    case binlog::kTypeSet:
      return "set(" + quoted(c.set_values) + ")";
    case binlog::kTypeGeometry:
      return "geometry";
    default:
      return binlog::ColumnTypeName(c.type);
  }
}

}  // namespace

staging::TableSchema SchemaFromTableMap(const binlog::TableMap& map) {
  staging::TableSchema t;
  t.schema = map.schema;
  t.table = map.table;
  t.columns.reserve(map.columns.size());
  for (const auto& d : map.columns) {
    ColumnSchema c;
    c.name = d.name;
    c.mysql_type = TypeText(d);
    c.binlog_type = d.type;
    c.binlog_meta = d.meta;
    c.nullable = d.nullable;
    c.is_unsigned = d.is_unsigned;
    c.collation = d.collation;
    c.enum_values = d.type == binlog::kTypeSet ? d.set_values : d.enum_values;
    c.pk_position = d.primary_key_position;
    t.columns.push_back(std::move(c));
  }
  return t;
}

std::string DescribeFilter(const TableFilter& filter) {
  return "include [" + Join(filter.include) + "] exclude [" + Join(filter.exclude) + "]";
}

}  // namespace binlake::source
