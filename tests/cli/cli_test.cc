// The binlake command line, run as users run it: exit codes, help, and one-line errors.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

namespace binlake::cli {
namespace {

struct CliRun {
  int code;
  std::string out;  // stdout and stderr together
};

CliRun Binlake(const std::string& args) {
  std::string cmd = std::string(BINLAKE_BINARY) + " " + args + " 2>&1";
  CliRun r{-1, ""};
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string Fixture(const std::string& name) {
  return std::string(BINLAKE_SOURCE_DIR) + "/tests/data/binlogs/" + name;
}

TEST(Cli, HelpForEveryCommand) {
  CliRun top = Binlake("--help");
  EXPECT_EQ(top.code, 0);
  for (const char* cmd : {"binlog-dump", "tail"}) {
    EXPECT_NE(top.out.find(cmd), std::string::npos) << cmd;
    CliRun help = Binlake(std::string(cmd) + " --help");
    EXPECT_EQ(help.code, 0) << cmd;
    EXPECT_NE(help.out.find("usage: binlake " + std::string(cmd)), std::string::npos) << help.out;
  }
  EXPECT_EQ(Binlake("version").code, 0);
}

TEST(Cli, UnknownCommandAndOptionFail) {
  CliRun r = Binlake("frobnicate");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("unknown command 'frobnicate'"), std::string::npos) << r.out;
  r = Binlake("binlog-dump --bogus x");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("unknown option --bogus"), std::string::npos) << r.out;
}

TEST(Cli, BinlogDumpPrintsJsonLines) {
  CliRun r = Binlake("binlog-dump " + Fixture("mysql-enum-string-set.000001"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(R"("op":"U","schema":"mysql","table":"t")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("f4":"two,four")"), std::string::npos) << r.out;
  size_t lines = 0;
  for (char c : r.out) lines += c == '\n';
  EXPECT_EQ(lines, 3u);
}

TEST(Cli, BinlogDumpReportsStatementBasedDml) {
  CliRun r = Binlake("binlog-dump " + Fixture("binlog_transaction.000001"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("binlog_transaction.000001:368: statement-based DML"), std::string::npos)
      << r.out;
}

TEST(Cli, TruncatedFileNamesTheOffset) {
  std::ifstream in(Fixture("mariadb-bin.000001"), std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string path = ::testing::TempDir() + "/truncated-binlog.000001";
  std::ofstream(path, std::ios::binary) << data.substr(0, 700);
  CliRun r = Binlake("binlog-dump " + path);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("binlake: "), std::string::npos);
  EXPECT_NE(r.out.find("truncated-binlog.000001:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("truncated"), std::string::npos) << r.out;
  CliRun missing = Binlake("binlog-dump /nonexistent/binlog.000009");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("/nonexistent/binlog.000009"), std::string::npos) << missing.out;
}

TEST(Cli, TailConfigErrorsAreOneLine) {
  std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/typo.toml") << "[source]\nhots = \"x\"\nserver_id = 7\n";
  CliRun r = Binlake("tail --config " + dir + "/typo.toml");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("unknown key 'source.hots'"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  r = Binlake("tail");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("--config FILE is required"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace binlake::cli
