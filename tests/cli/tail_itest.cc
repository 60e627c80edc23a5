// `binlake tail` against the test MariaDB, run as a user runs it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include "testing/status_matchers.h"
#include "testing/test_mysql.h"

namespace binlake::cli {
namespace {

using binlake::testing::TestMysql;

struct CliRun {
  int code;
  std::string out, err;
};

CliRun Binlake(const std::string& args, const std::string& env = "") {
  std::string err_path = ::testing::TempDir() + "/tail_itest.stderr";
  std::string cmd = env + " " + BINLAKE_BINARY + " " + args + " 2>" + err_path;
  CliRun r{-1, "", ""};
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::ifstream e(err_path);
  r.err.assign(std::istreambuf_iterator<char>(e), std::istreambuf_iterator<char>());
  return r;
}

class TailCli : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestMysql::FromEnv();
    ASSERT_OK(db);
    db_ = std::move(db).value();
    dir_ = ::testing::TempDir();
  }
  std::string WriteConfig(const std::string& name, const std::string& auth) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << "[source]\nhost = \"127.0.0.1\"\nport = " << db_->port()
                        << "\nuser = \"binlake\"\n"
                        << auth << "\nserver_id = 5150\n"
                        << "heartbeat_ms = 200\nmax_reconnect_attempts = 2\n";
    return path;
  }
  std::string PasswordFile(mode_t mode) {
    std::string path = dir_ + "/pw-" + std::to_string(mode);
    std::ifstream in(db_->dir() + "/password");
    std::string pw;
    std::getline(in, pw);
    std::ofstream(path) << pw << "\n";
    chmod(path.c_str(), mode);
    return path;
  }
  std::unique_ptr<TestMysql> db_;
  std::string dir_;
};

TEST_F(TailCli, StreamsChangesAsJsonUntilTheEnd) {
  ASSERT_OK(db_->Exec("CREATE DATABASE IF NOT EXISTS tail_it"));
  ASSERT_OK(db_->Exec("DROP TABLE IF EXISTS tail_it.t"));
  ASSERT_OK(
      db_->Exec("CREATE TABLE tail_it.t (id INT PRIMARY KEY, name VARCHAR(20), "
                "price DECIMAL(8,2), at DATETIME(3))"));
  auto start = db_->CurrentPosition();
  ASSERT_OK(start);
  ASSERT_OK(
      db_->Exec("INSERT INTO tail_it.t VALUES (1, 'café', 9.90, '2024-05-06 07:08:09.123'),"
                " (2, 'b', 0.01, NULL)"));
  ASSERT_OK(db_->Exec("UPDATE tail_it.t SET price = price + 1 WHERE id = 1"));
  ASSERT_OK(db_->Exec("DELETE FROM tail_it.t WHERE id = 2"));
  std::string cfg = WriteConfig("ok.toml", "password_file = \"" + PasswordFile(0600) + "\"");
  CliRun r = Binlake("tail --config " + cfg + " --from " + start->file + ":" +
                     std::to_string(start->pos) + " --until-end");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(
      r.out.find(
          R"("op":"I","schema":"tail_it","table":"t","after":{"id":1,"name":"café","price":"9.90","at":"2024-05-06 07:08:09.123"}})"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(R"("before":{"id":1,"name":"café","price":"9.90")"), std::string::npos);
  EXPECT_NE(r.out.find(R"("after":{"id":1,"name":"café","price":"10.90")"), std::string::npos);
  EXPECT_NE(
      r.out.find(
          R"("op":"D","schema":"tail_it","table":"t","before":{"id":2,"name":"b","price":"0.01","at":null}})"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("resume with --from"), std::string::npos) << r.err;
}

TEST_F(TailCli, WrongPasswordIsOneClearLine) {
  std::string cfg = WriteConfig("bad.toml", "password_env = \"BINLAKE_TEST_BAD_PW\"");
  CliRun r = Binlake("tail --config " + cfg, "BINLAKE_TEST_BAD_PW=not-the-password-4711");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("access denied"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("127.0.0.1:" + std::to_string(db_->port())), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("not-the-password-4711"), std::string::npos) << "password leaked: " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(TailCli, PasswordFileReadableByOthersIsRefused) {
  std::string cfg = WriteConfig("open.toml", "password_file = \"" + PasswordFile(0644) + "\"");
  CliRun r = Binlake("tail --config " + cfg);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
}

TEST_F(TailCli, PurgedOrMissingBinlogIsClear) {
  std::string cfg = WriteConfig("ok2.toml", "password_file = \"" + PasswordFile(0600) + "\"");
  CliRun r = Binlake("tail --config " + cfg + " --from binlog.999999:4");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("binlog.999999"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace binlake::cli
