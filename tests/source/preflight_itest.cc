// RunPreflight against the fixture and against extra servers with the settings it must catch.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "source/source.h"
#include "testing/status_matchers.h"
#include "testing/test_mysql.h"

namespace binlake::source {
namespace {

using binlake::testing::TestMysql;

// "E what | fix" / "W what | fix", one line per problem.
std::vector<std::string> Lines(const PreflightReport& r) {
  std::vector<std::string> out;
  for (const auto& p : r.problems) out.push_back((p.error ? "E " : "W ") + p.what + " | " + p.fix);
  return out;
}

std::vector<std::string> Whats(const PreflightReport& r) {
  std::vector<std::string> out;
  for (const auto& p : r.problems) out.push_back((p.error ? "E " : "W ") + p.what);
  return out;
}

TEST(PreflightFixture, AllOkWithAWarningForATableWithoutKey) {
  auto db = TestMysql::FromEnv();
  ASSERT_OK(db);
  ASSERT_OK((*db)->Exec("DROP DATABASE IF EXISTS preflight_it"));
  ASSERT_OK((*db)->Exec("CREATE DATABASE preflight_it"));
  ASSERT_OK((*db)->Exec("CREATE TABLE preflight_it.keyed (id INT PRIMARY KEY, v TEXT)"));
  ASSERT_OK((*db)->Exec("CREATE TABLE preflight_it.nokey (a INT, b TEXT)"));
  ASSERT_OK((*db)->Exec("CREATE VIEW preflight_it.a_view AS SELECT 1"));
  TableFilter f;
  f.include = {"preflight_it.*"};
  auto report = RunPreflight((*db)->Options(), f, {});
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok());
  EXPECT_TRUE(report->is_mariadb);
  EXPECT_NE(report->server_version.find("MariaDB"), std::string::npos);
  EXPECT_EQ(Lines(*report),
            std::vector<std::string>{
                "W table preflight_it.nokey has no primary key: updates and deletes are matched "
                "by the whole row | ALTER TABLE `preflight_it`.`nokey` ADD PRIMARY KEY (...)"});
  ASSERT_EQ(report->tables.size(), 2u);
  EXPECT_EQ(report->tables[0].table, "keyed");
  EXPECT_EQ(report->tables[0].columns[0].pk_position, 0);
  EXPECT_EQ(report->tables[1].table, "nokey");

  f.include = {"preflight_it.nothing*"};
  f.exclude = {"x.*"};
  report = RunPreflight((*db)->Options(), f, {});
  ASSERT_OK(report);
  EXPECT_FALSE(report->ok());
  EXPECT_EQ(Lines(*report),
            std::vector<std::string>{
                "E no tables selected by include [preflight_it.nothing*] exclude [x.*] | check "
                "the include/exclude patterns (globs over schema.table with * and ?) and that "
                "user binlake@% can see the tables (SELECT privilege)"});
}

// Extra servers for settings the fixture must keep, on ports derived from the fixture's (3363 and
// 3373 for the default 3317) so that builds testing side by side do not share them.
const int kRowServer = std::atoi(BINLAKE_TEST_MYSQL_PORT_DEFAULT) + 46;
const int kNoLogServer = std::atoi(BINLAKE_TEST_MYSQL_PORT_DEFAULT) + 56;

class PreflightServers : public ::testing::Test {
 protected:
  static std::string Dir(int port) {
    return std::string(BINLAKE_TEST_MYSQL_DIR_DEFAULT) + "-preflight-" + std::to_string(port);
  }
  static void SetUpTestSuite() {
    std::string script = std::string(BINLAKE_SOURCE_DIR) + "/scripts/mariadb.sh";
    const std::string a = std::to_string(kRowServer), b = std::to_string(kNoLogServer);
    // Both start in parallel; each start's own exit status counts (a bare `wait` would hide one).
    std::string cmd =
        "(" + script + " start " + Dir(kRowServer) + " " + a +
        " & p1=$!; MARIADB_EXTRA_ARGS=" + "--skip-log-bin " + script + " start " +
        Dir(kNoLogServer) + " " + b +
        " & p2=$!; wait $p1; r1=$?; wait $p2; r2=$?; [ $r1 = 0 ] && [ $r2 = 0 ]) >/dev/null 2>&1";
    started_ = std::system(cmd.c_str()) == 0;
  }
  static void TearDownTestSuite() {
    std::string script = std::string(BINLAKE_SOURCE_DIR) + "/scripts/mariadb.sh";
    std::string cmd = "(" + script + " stop " + Dir(kRowServer) + " " + std::to_string(kRowServer) +
                      " & " + script + " stop " + Dir(kNoLogServer) + " " +
                      std::to_string(kNoLogServer) + " & wait) >/dev/null 2>&1";
    (void)std::system(cmd.c_str());
  }
  static binlog::ConnectionOptions Options(int port) {
    binlog::ConnectionOptions o;
    o.port = static_cast<uint16_t>(port);
    o.user = "binlake";
    std::ifstream in(Dir(port) + "/password");
    std::getline(in, o.password);
    o.server_id = 77000 + port;
    o.connect_timeout_s = 5;
    return o;
  }
  static Status Admin(int port, const std::string& sql) {
    BL_ASSIGN_OR_RETURN(auto c, binlog::BinlogClient::Connect(Options(port)));
    return c->Query(sql).status();
  }
  static Result<PreflightReport> Run(const binlog::ConnectionOptions& o) {
    TableFilter f;
    f.include = {"pf.*"};
    return RunPreflight(o, f, {});
  }
  static bool started_;
};
bool PreflightServers::started_ = false;

TEST_F(PreflightServers, EachBadSettingIsOneProblemWithItsFix) {
  ASSERT_TRUE(started_) << "could not start the extra servers";
  const int p = kRowServer;
  ASSERT_OK(Admin(p, "CREATE DATABASE IF NOT EXISTS pf"));
  ASSERT_OK(Admin(p, "CREATE TABLE IF NOT EXISTS pf.t (id INT PRIMARY KEY)"));
  ASSERT_OK(Admin(p,
                  "SET GLOBAL binlog_format = 'ROW', binlog_row_image = 'FULL', "
                  "binlog_row_metadata = 'FULL', binlog_expire_logs_seconds = 0"));
  auto r = Run(Options(p));
  ASSERT_OK(r);
  EXPECT_TRUE(r->problems.empty()) << ::testing::PrintToString(Lines(*r));

  struct Case {
    std::string set, reset;
    std::vector<std::string> want;
  };
  const std::vector<Case> cases = {
      {"binlog_format = 'STATEMENT'",
       "binlog_format = 'ROW'",
       {"E binlog_format is STATEMENT | SET GLOBAL binlog_format = 'ROW' and binlog_format=ROW in "
        "the server config (new sessions use it; RDS: parameter group binlog_format=ROW)"}},
      {"binlog_format = 'MIXED'",
       "binlog_format = 'ROW'",
       {"E binlog_format is MIXED | SET GLOBAL binlog_format = 'ROW' and binlog_format=ROW in "
        "the server config (new sessions use it; RDS: parameter group binlog_format=ROW)"}},
      {"binlog_row_image = 'MINIMAL'",
       "binlog_row_image = 'FULL'",
       {"E binlog_row_image is MINIMAL | SET GLOBAL binlog_row_image = 'FULL' and "
        "binlog_row_image=FULL in the server config (new sessions use it; RDS: parameter group "
        "binlog_row_image=full)"}},
      {"binlog_row_metadata = 'MINIMAL'",
       "binlog_row_metadata = 'FULL'",
       {"W binlog_row_metadata is MINIMAL: the binlog lacks column names, ENUM/SET names, "
        "charsets and the primary key | SET GLOBAL binlog_row_metadata = 'FULL' and "
        "binlog_row_metadata=FULL in the server config (new sessions use it; RDS: parameter "
        "group binlog_row_metadata=FULL)"}},
      {"binlog_expire_logs_seconds = 1800",
       "binlog_expire_logs_seconds = 0",
       {"E binlogs are purged after 1800 s, less than min_retention_hours=24: a short outage "
        "loses changes | SET GLOBAL binlog_expire_logs_seconds = 86400 and the same in the "
        "server config (MariaDB before 10.6: expire_logs_days = 1)"}},
      {"binlog_expire_logs_seconds = 36000",
       "binlog_expire_logs_seconds = 0",
       {"W binlogs are purged after 36000 s, less than min_retention_hours=24 | SET GLOBAL "
        "binlog_expire_logs_seconds = 86400 and the same in the server config (MariaDB before "
        "10.6: expire_logs_days = 1)"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.set);
    ASSERT_OK(Admin(p, "SET GLOBAL " + c.set));
    r = Run(Options(p));
    ASSERT_OK(Admin(p, "SET GLOBAL " + c.reset));
    ASSERT_OK(r);
    EXPECT_EQ(Lines(*r), c.want);
    EXPECT_EQ(r->ok(), c.want[0][0] == 'W');
  }

  // A user with nothing but USAGE: three errors, each with its GRANT.
  ASSERT_OK(Admin(p, "DROP USER IF EXISTS 'nopriv'@'%'"));
  ASSERT_OK(Admin(p, "CREATE USER 'nopriv'@'%' IDENTIFIED BY 'pw'"));
  binlog::ConnectionOptions o = Options(p);
  o.user = "nopriv";
  o.password = "pw";
  r = Run(o);
  ASSERT_OK(r);
  EXPECT_EQ(Lines(*r),
            (std::vector<std::string>{
                "E user nopriv@% lacks REPLICATION SLAVE (needed to read the binlog) | GRANT "
                "REPLICATION SLAVE ON *.* TO 'nopriv'@'%'",
                "E user nopriv@% lacks BINLOG MONITOR (needed for the binlog position) | GRANT "
                "BINLOG MONITOR ON *.* TO 'nopriv'@'%'",
                "E no tables selected by include [pf.*] exclude [] | check the include/exclude "
                "patterns (globs over schema.table with * and ?) and that user nopriv@% can see "
                "the tables (SELECT privilege)"}));
  // Replication rights and SELECT on one table of two: the other is named.
  ASSERT_OK(Admin(p, "CREATE TABLE IF NOT EXISTS pf.u (id INT PRIMARY KEY)"));
  ASSERT_OK(Admin(p, "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'nopriv'@'%'"));
  ASSERT_OK(Admin(p, "GRANT SELECT ON pf.t TO 'nopriv'@'%'"));
  ASSERT_OK(Admin(p, "GRANT INSERT ON pf.u TO 'nopriv'@'%'"));
  r = Run(o);
  ASSERT_OK(r);
  EXPECT_EQ(Lines(*r), (std::vector<std::string>{
                           "E user nopriv@% lacks SELECT on pf.u (needed for the full load) | "
                           "GRANT SELECT ON `pf`.* TO 'nopriv'@'%'"}));
  ASSERT_OK(Admin(p, "GRANT SELECT ON pf.* TO 'nopriv'@'%'"));
  r = Run(o);
  ASSERT_OK(r);
  EXPECT_TRUE(r->problems.empty()) << ::testing::PrintToString(Lines(*r));
  ASSERT_OK(Admin(p, "DROP USER 'nopriv'@'%'"));
}

TEST_F(PreflightServers, BinaryLoggingOff) {
  ASSERT_TRUE(started_) << "could not start the extra servers";
  ASSERT_OK(Admin(kNoLogServer, "CREATE DATABASE IF NOT EXISTS pf"));
  ASSERT_OK(Admin(kNoLogServer, "CREATE TABLE IF NOT EXISTS pf.t (id INT PRIMARY KEY)"));
  auto r = Run(Options(kNoLogServer));
  ASSERT_OK(r);
  EXPECT_EQ(Whats(*r), std::vector<std::string>{"E binary logging is off (log_bin=OFF)"});
  auto snap = Snapshot::Begin(Options(kNoLogServer));
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().message(),
            "mysql 127.0.0.1:" + std::to_string(kNoLogServer) +
                ": binary logging is off (start the server with log_bin, binlog_format=ROW)");
}

}  // namespace
}  // namespace binlake::source
