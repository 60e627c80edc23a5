#include "config/config.h"

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace binlake::config {
namespace {

constexpr const char* kSource = "[source]\nserver_id = 7\n";

TEST(ConfigTest, LakeDefaults) {
  auto c = ParseConfig(kSource, "t.toml");
  ASSERT_OK(c.status());
  EXPECT_EQ(c->lake.format, "delta");
  EXPECT_EQ(c->lake.checkpoint_interval, 100u);
  EXPECT_EQ(c->lake.log_retention_versions, 0u);
}

TEST(ConfigTest, LakeFormatAndCheckpoints) {
  auto c = ParseConfig(std::string(kSource) +
                           "[lake]\nformat = \"csv\"\ncheckpoint_interval = 10\n"
                           "log_retention_versions = 500\n",
                       "t.toml");
  ASSERT_OK(c.status());
  EXPECT_EQ(c->lake.format, "csv");
  EXPECT_EQ(c->lake.checkpoint_interval, 10u);
  EXPECT_EQ(c->lake.log_retention_versions, 500u);
  auto bad = ParseConfig(std::string(kSource) + "[lake]\nformat = \"parquet\"\n", "t.toml");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("delta, csv"), std::string::npos);
}

}  // namespace
}  // namespace binlake::config
