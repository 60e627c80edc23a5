// TLS to the source with CA verification, against a MariaDB that requires secure transport.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "binlog/client.h"
#include "binlog/event.h"
#include "testing/status_matchers.h"

namespace binlake::binlog {
namespace {

const std::string kDir = std::string(BINLAKE_TEST_MYSQL_DIR_DEFAULT) + "-tls";
const int kPort = std::atoi(BINLAKE_TEST_MYSQL_PORT_DEFAULT) + 10;

int Sh(const std::string& cmd) { return std::system(cmd.c_str()); }

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string src = BINLAKE_SOURCE_DIR;
    Sh("rm -rf '" + kDir + "'");
    ASSERT_EQ(Sh(src + "/scripts/tls-certs.sh '" + kDir + "/certs'"), 0);
    std::string args = "--ssl-ca=" + kDir + "/certs/ca.pem --ssl-cert=" + kDir +
                       "/certs/server-cert.pem --ssl-key=" + kDir +
                       "/certs/server-key.pem --require-secure-transport=ON";
    ASSERT_EQ(Sh("MARIADB_EXTRA_ARGS='" + args + "' " + src + "/scripts/mariadb.sh start '" + kDir +
                 "' " + std::to_string(kPort) + " >/dev/null"),
              0);
  }
  static void TearDownTestSuite() {
    Sh(std::string(BINLAKE_SOURCE_DIR) + "/scripts/mariadb.sh stop '" + kDir + "' " +
       std::to_string(kPort));
  }

  ConnectionOptions Options() {
    ConnectionOptions o;
    o.port = static_cast<uint16_t>(kPort);
    o.user = "binlake";
    std::ifstream in(kDir + "/password");
    std::getline(in, o.password);
    o.server_id = 9100 + static_cast<uint32_t>(getpid() % 800);
    o.connect_timeout_s = 5;
    o.read_timeout_s = 10;
    o.tls = true;
    o.tls_ca = kDir + "/certs/ca.pem";
    return o;
  }
};

TEST_F(TlsTest, VerifiedTlsStreamsEvents) {
  auto client = BinlogClient::Connect(Options());
  ASSERT_OK(client);
  auto cipher = (*client)->Query("SHOW SESSION STATUS LIKE 'Ssl_version'");
  ASSERT_OK(cipher);
  ASSERT_EQ(cipher->size(), 1u);
  EXPECT_NE((*cipher)[0][1].value_or(""), "") << "the session is not encrypted";
  ASSERT_OK((*client)->StartDump(StartPosition{"binlog.000001", 4, ""}));
  auto ev = (*client)->Next();
  ASSERT_OK(ev);
  EventHeader h;
  ASSERT_OK(ParseEventHeader(*ev, &h));
  EXPECT_EQ(h.type, kRotate);
}

TEST_F(TlsTest, WrongCaIsRefusedClearly) {
  ConnectionOptions o = Options();
  o.tls_ca = kDir + "/certs/other-ca.pem";
  auto client = BinlogClient::Connect(o);
  ASSERT_FALSE(client.ok());
  const std::string& m = client.status().message();
  EXPECT_NE(m.find("127.0.0.1:" + std::to_string(kPort)), std::string::npos) << m;
  EXPECT_EQ(m.find(o.password), std::string::npos) << "password leaked: " << m;
  EXPECT_TRUE(m.find("certificate") != std::string::npos || m.find("SSL") != std::string::npos ||
              m.find("TLS") != std::string::npos)
      << m;
}

TEST_F(TlsTest, PlainConnectionIsRefusedByTheServer) {
  ConnectionOptions o = Options();
  o.tls = false;
  auto client = BinlogClient::Connect(o);
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.status().message().find("127.0.0.1"), std::string::npos);
}

}  // namespace
}  // namespace binlake::binlog
