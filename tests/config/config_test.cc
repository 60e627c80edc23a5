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

TEST(ConfigTest, OpsSection) {
  auto d = ParseConfig(kSource, "t.toml");
  ASSERT_OK(d.status());
  EXPECT_FALSE(d->ops.enabled);
  EXPECT_EQ(d->ops.listen, "127.0.0.1:7070");
  auto c = ParseConfig(std::string(kSource) + "[ops]\nenabled = true\nlisten = \"0.0.0.0:9100\"\n",
                       "t.toml");
  ASSERT_OK(c.status());
  EXPECT_TRUE(c->ops.enabled);
  EXPECT_EQ(c->ops.listen, "0.0.0.0:9100");
  for (const char* bad : {"[ops]\nlisten = \"7070\"\n", "[ops]\nport = 1\n",
                          "[ops]\nenabled = \"yes\"\n", "ops = 1\n"}) {
    auto b = ParseConfig(std::string(kSource) + bad, "t.toml");
    EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument) << bad;
  }
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

TEST(ConfigTest, LakeMemoryBudget) {
  auto d = ParseConfig(kSource, "t.toml");
  ASSERT_OK(d.status());
  EXPECT_EQ(d->lake.memory_mb, 256u);
  EXPECT_EQ(d->lake.spill_dir, "");
  auto c = ParseConfig(std::string(kSource) + "[lake]\nmemory_mb = 1024\nspill_dir = \"/data/x\"\n",
                       "t.toml");
  ASSERT_OK(c.status());
  EXPECT_EQ(c->lake.memory_mb, 1024u);
  EXPECT_EQ(c->lake.spill_dir, "/data/x");
  auto low = ParseConfig(std::string(kSource) + "[lake]\nmemory_mb = 16\n", "t.toml");
  EXPECT_EQ(low.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(low.status().message().find("lake.memory_mb must be 64..1048576"), std::string::npos);
}

TEST(ConfigTest, WhenPurgedPolicy) {
  auto d = ParseConfig(kSource, "t.toml");
  ASSERT_OK(d.status());
  EXPECT_EQ(d->capture.when_purged, "fail");
  auto c =
      ParseConfig(std::string(kSource) + "[capture]\nwhen_purged = \"resnapshot\"\n", "t.toml");
  ASSERT_OK(c.status());
  EXPECT_EQ(c->capture.when_purged, "resnapshot");
  auto bad = ParseConfig(std::string(kSource) + "[capture]\nwhen_purged = \"skip\"\n", "t.toml");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("fail, resnapshot"), std::string::npos);
}

TEST(ConfigTest, S3SectionMapsOntoStoreOptions) {
  auto d = ParseConfig(kSource, "t.toml");
  ASSERT_OK(d.status());
  EXPECT_EQ(d->store.s3.addressing, store::S3Options::Addressing::kAuto);
  EXPECT_EQ(d->store.s3.part_bytes, uint64_t{8} << 20);
  EXPECT_EQ(d->capture.spool_dir, "");
  auto c = ParseConfig(std::string(kSource) +
                           "[capture]\nstaging = \"s3://bucket/staging\"\n"
                           "spool_dir = \"/var/cache/binlake\"\n"
                           "[s3]\nendpoint = \"http://127.0.0.1:9400\"\nregion = \"eu-west-1\"\n"
                           "profile = \"binlake\"\naddressing = \"path\"\nsingle_writer = true\n"
                           "max_retries = 3\npart_size_mb = 16\nconnect_timeout_ms = 100\n"
                           "request_timeout_ms = 2000\n",
                       "t.toml");
  ASSERT_OK(c.status());
  EXPECT_EQ(c->capture.staging, "s3://bucket/staging");
  EXPECT_EQ(c->capture.spool_dir, "/var/cache/binlake");
  const store::S3Options& s3 = c->store.s3;
  EXPECT_EQ(s3.endpoint, "http://127.0.0.1:9400");
  EXPECT_EQ(s3.region, "eu-west-1");
  EXPECT_EQ(s3.profile, "binlake");
  EXPECT_EQ(s3.addressing, store::S3Options::Addressing::kPath);
  EXPECT_TRUE(s3.single_writer);
  EXPECT_EQ(s3.max_retries, 3);
  EXPECT_EQ(s3.part_bytes, uint64_t{16} << 20);
  EXPECT_EQ(s3.connect_timeout_ms, 100);
  EXPECT_EQ(s3.request_timeout_ms, 2000);
  auto v = ParseConfig(std::string(kSource) + "[s3]\naddressing = \"virtual\"\n", "t.toml");
  ASSERT_OK(v.status());
  EXPECT_EQ(v->store.s3.addressing, store::S3Options::Addressing::kVirtualHost);
}

TEST(ConfigTest, S3RejectsBadValuesAndBadUris) {
  for (const char* bad :
       {"[s3]\naddressing = \"dns\"\n", "[s3]\npart_size_mb = 1\n",
        "[s3]\nconnect_timeout_ms = 0\n", "[s3]\nendpont = \"x\"\n", "s3 = 1\n",
        "[capture]\nstaging = \"s3:///nobucket\"\n", "[capture]\nstaging = \"gs://bucket\"\n"}) {
    auto c = ParseConfig(std::string(kSource) + bad, "t.toml");
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  auto rel = ParseConfig(std::string(kSource) + "[capture]\nstaging = \"rel/dir\"\n", "t.toml");
  ASSERT_OK(rel.status());
  auto file =
      ParseConfig(std::string(kSource) + "[capture]\nstaging = \"file:///srv/st\"\n", "t.toml");
  ASSERT_OK(file.status());
}

// Secrets never go in the config: one line that names where they belong, and never the value.
TEST(ConfigTest, S3RefusesCredentials) {
  for (const char* key :
       {"secret_access_key", "access_key_id", "aws_secret_access_key", "aws_session_token"}) {
    auto c = ParseConfig(std::string(kSource) + "[s3]\n" + key + " = \"hunter2\"\n", "t.toml");
    ASSERT_EQ(c.status().code(), StatusCode::kInvalidArgument) << key;
    const std::string& m = c.status().message();
    EXPECT_NE(m.find(key), std::string::npos) << m;
    EXPECT_NE(m.find("AWS_ACCESS_KEY_ID"), std::string::npos) << m;
    EXPECT_NE(m.find("AWS_SECRET_ACCESS_KEY"), std::string::npos) << m;
    EXPECT_NE(m.find("credentials file"), std::string::npos) << m;
    EXPECT_EQ(m.find("hunter2"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace binlake::config
