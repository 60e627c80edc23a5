// Preflight: every server setting and privilege the capture depends on, each problem with its fix.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include "source/internal.h"
#include "source/source.h"

namespace binlake::source {
namespace {

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// Privileges granted to the current user, by level: "*.*", "`db`.*", "`db`.`t`".
struct Grants {
  std::map<std::string, std::set<std::string>> by_object;
  bool Has(const std::string& object, const std::string& priv) const {
    auto it = by_object.find(object);
    return it != by_object.end() && (it->second.count(priv) || it->second.count("ALL PRIVILEGES") ||
                                     it->second.count("ALL"));
  }
};

// "GRANT SELECT, RELOAD ON *.* TO `u`@`%` ..." -> {"*.*": {SELECT, RELOAD}}; role grants are
// skipped.
void ParseGrant(const std::string& line, Grants* g) {
  std::string u = Upper(line);
  if (u.rfind("GRANT ", 0) != 0) return;
  size_t on = u.find(" ON ");
  if (on == std::string::npos) return;
  size_t to = u.find(" TO ", on);
  if (to == std::string::npos) return;
  std::string object = line.substr(on + 4, to - on - 4);
  if (Upper(object).rfind("PROCEDURE ", 0) == 0 || Upper(object).rfind("FUNCTION ", 0) == 0) return;
  if (object.rfind("TABLE ", 0) == 0) object = object.substr(6);
  auto& privs = g->by_object[object];
  std::string list = u.substr(6, on - 6);
  size_t start = 0;
  int depth = 0;  // column lists "SELECT (a, b)" contain commas
  for (size_t i = 0; i <= list.size(); i++) {
    if (i < list.size() && list[i] == '(') depth++;
    if (i < list.size() && list[i] == ')') depth--;
    if (i == list.size() || (list[i] == ',' && depth == 0)) {
      std::string p = list.substr(start, i - start);
      p.erase(0, p.find_first_not_of(' '));
      p.erase(p.find_last_not_of(' ') + 1);
      if (p.find('(') == std::string::npos) privs.insert(p);  // column grants do not cover a table
      start = i + 1;
    }
  }
}

// A grant object "`db`.*" or "`db`.`t`" from its names, matching SHOW GRANTS' spelling.
std::string GrantObject(const std::string& db, const std::string& table) {
  return QuoteIdent(db) + "." + (table.empty() ? std::string("*") : QuoteIdent(table));
}

}  // namespace

bool PreflightReport::ok() const {
  return std::none_of(problems.begin(), problems.end(),
                      [](const PreflightProblem& p) { return p.error; });
}

Result<PreflightReport> RunPreflight(const binlog::ConnectionOptions& conn,
                                     const TableFilter& filter, const PreflightOptions& options) {
  BL_ASSIGN_OR_RETURN(auto client, binlog::BinlogClient::Connect(conn));
  PreflightReport report;
  report.server_version = client->server_version();
  report.is_mariadb = client->is_mariadb();
  const bool maria = report.is_mariadb;
  auto error = [&](std::string what, std::string fix) {
    report.problems.push_back({true, std::move(what), std::move(fix)});
  };
  auto warning = [&](std::string what, std::string fix) {
    report.problems.push_back({false, std::move(what), std::move(fix)});
  };

  BL_ASSIGN_OR_RETURN(
      auto var_rows,
      client->Query("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', "
                    "'binlog_row_image', 'binlog_row_metadata', 'expire_logs_days', "
                    "'binlog_expire_logs_seconds', 'binlog_row_value_options')"));
  std::map<std::string, std::string> vars;
  for (const auto& r : var_rows) {
    if (r.size() >= 2 && r[0]) vars[*r[0]] = Upper(r[1].value_or(""));
  }
  auto var = [&](const char* name) {
    auto it = vars.find(name);
    return it == vars.end() ? std::string() : it->second;
  };
  auto set_fix = [&](const std::string& name, const std::string& value, const std::string& rds) {
    return "SET GLOBAL " + name + " = '" + value + "' and " + name + "=" + value +
           " in the server config (new sessions use it; RDS: parameter group " + name + "=" + rds +
           ")";
  };

  if (var("log_bin") != "ON" && var("log_bin") != "1") {
    error("binary logging is off (log_bin=OFF)",
          "start the server with log_bin=binlog and a server_id (RDS: set backup retention > 0, "
          "which turns on binary logging)");
  }
  const std::string format = var("binlog_format");
  if (format != "ROW") {
    error("binlog_format is " + format, set_fix("binlog_format", "ROW", "ROW"));
  }
  const std::string image = var("binlog_row_image");
  if (image != "FULL") {
    error("binlog_row_image is " + image, set_fix("binlog_row_image", "FULL", "full"));
  }
  if (!vars.count("binlog_row_metadata")) {
    warning("binlog_row_metadata is not available on " + report.server_version +
                " (MariaDB 10.5+/MySQL 8.0.1+): the binlog has no column names, ENUM/SET "
                "names, charsets or primary key",
            "binlake uses the schemas from information_schema; a schema change during the "
            "capture needs a new full load (or upgrade the server)");
  } else if (var("binlog_row_metadata") != "FULL") {
    warning("binlog_row_metadata is " + var("binlog_row_metadata") +
                ": the binlog lacks column names, ENUM/SET names, charsets and the primary key",
            set_fix("binlog_row_metadata", "FULL", "FULL"));
  }
  if (var("binlog_row_value_options").find("PARTIAL_JSON") != std::string::npos &&
      image != "FULL") {
    error("binlog_row_value_options is PARTIAL_JSON with binlog_row_image=" + image +
              ": JSON updates are logged as diffs without the value they apply to",
          "SET GLOBAL binlog_row_value_options = '' (RDS: parameter group "
          "binlog_row_value_options empty) or binlog_row_image=FULL");
  }

  // Retention in seconds, 0 = binlogs are never purged by age.
  double retention_s = 0;
  bool rds = false;
  std::string seconds = var("binlog_expire_logs_seconds");
  std::string days = var("expire_logs_days");
  if (!seconds.empty() && seconds != "0") {
    retention_s = std::strtod(seconds.c_str(), nullptr);
  } else if (!days.empty()) {
    retention_s = std::strtod(days.c_str(), nullptr) * 86400;
  }
  if (auto rds_rows = client->Query("CALL mysql.rds_show_configuration"); rds_rows.ok()) {
    for (const auto& r : *rds_rows) {
      if (r.size() >= 2 && r[0] && *r[0] == "binlog retention hours") {
        rds = true;
        // NULL: RDS purges binlogs as soon as it can (within minutes).
        retention_s = r[1] ? std::strtod(r[1]->c_str(), nullptr) * 3600 : 300;
      }
    }
  }
  const double want_s = options.min_retention_hours * 3600.0;
  if (retention_s > 0 && retention_s < want_s) {
    const std::string hours = std::to_string(options.min_retention_hours);
    std::string what = "binlogs are purged after " +
                       std::to_string(static_cast<uint64_t>(std::llround(retention_s))) +
                       " s, less than min_retention_hours=" + hours;
    std::string fix;
    if (rds) {
      fix = "CALL mysql.rds_set_configuration('binlog retention hours', " + hours + ")";
    } else {
      fix = "SET GLOBAL binlog_expire_logs_seconds = " +
            std::to_string(static_cast<uint64_t>(want_s)) + " and the same in the server config";
      if (maria) {
        fix += " (MariaDB before 10.6: expire_logs_days = " +
               std::to_string((options.min_retention_hours + 23) / 24) + ")";
      }
    }
    if (retention_s < 3600) {
      error(what + ": a short outage loses changes", fix);
    } else {
      warning(what, fix);
    }
  }

  BL_ASSIGN_OR_RETURN(report.tables, ListTables(*client, filter));

  // Privileges of the account the server authenticated us as.
  BL_ASSIGN_OR_RETURN(auto user_rows, client->Query("SELECT CURRENT_USER()"));
  std::string account = user_rows.empty() ? "" : user_rows[0][0].value_or("");
  size_t at = account.rfind('@');
  std::string grantee = at == std::string::npos ? SqlQuote(account)
                                                : SqlQuote(account.substr(0, at)) + "@" +
                                                      SqlQuote(account.substr(at + 1));
  BL_ASSIGN_OR_RETURN(auto grant_rows, client->Query("SHOW GRANTS FOR CURRENT_USER()"));
  Grants grants;
  for (const auto& r : grant_rows) {
    if (!r.empty() && r[0]) ParseGrant(*r[0], &grants);
  }
  if (!grants.Has("*.*", "REPLICATION SLAVE") && !grants.Has("*.*", "REPLICATION REPLICA")) {
    error("user " + account + " lacks REPLICATION SLAVE (needed to read the binlog)",
          "GRANT REPLICATION SLAVE ON *.* TO " + grantee);
  }
  const char* monitor = maria ? "BINLOG MONITOR" : "REPLICATION CLIENT";
  if (!grants.Has("*.*", "REPLICATION CLIENT") && !grants.Has("*.*", "BINLOG MONITOR")) {
    error("user " + account + " lacks " + monitor + " (needed for the binlog position)",
          std::string("GRANT ") + monitor + " ON *.* TO " + grantee);
  }
  if (options.need_snapshot) {
    std::map<std::string, std::vector<std::string>> missing;  // schema -> tables
    for (const auto& t : report.tables) {
      if (grants.Has("*.*", "SELECT") || grants.Has(GrantObject(t.schema, ""), "SELECT") ||
          grants.Has(GrantObject(t.schema, t.table), "SELECT")) {
        continue;
      }
      missing[t.schema].push_back(t.table);
    }
    for (const auto& [schema, tables] : missing) {
      std::string what = "user " + account + " lacks SELECT on ";
      for (size_t i = 0; i < tables.size(); i++) {
        what.append(i ? ", " : "").append(schema).append(".").append(tables[i]);
      }
      what += " (needed for the full load)";
      error(what, "GRANT SELECT ON " + GrantObject(schema, "") + " TO " + grantee);
    }
    if (!maria && !grants.Has("*.*", "RELOAD")) {
      warning("user " + account +
                  " lacks RELOAD: the full load cannot hold FLUSH TABLES WITH READ LOCK while it "
                  "reads the binlog position, so it reads the position just before the snapshot "
                  "and changes committed in between appear twice (upserts by primary key; tables "
                  "without one may get duplicate rows)",
              "GRANT RELOAD ON *.* TO " + grantee);
    }
  }

  if (report.tables.empty()) {
    error("no tables selected by " + DescribeFilter(filter),
          "check the include/exclude patterns (globs over schema.table with * and ?) and that "
          "user " +
              account + " can see the tables (SELECT privilege)");
  }
  for (const auto& t : report.tables) {
    bool has_pk = std::any_of(t.columns.begin(), t.columns.end(),
                              [](const staging::ColumnSchema& c) { return c.pk_position >= 0; });
    if (!has_pk) {
      warning("table " + t.schema + "." + t.table +
                  " has no primary key: updates and deletes are matched by the whole row",
              "ALTER TABLE " + GrantObject(t.schema, t.table) + " ADD PRIMARY KEY (...)");
    }
  }
  return report;
}

}  // namespace binlake::source
