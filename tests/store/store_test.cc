// The generic store suite (store_suite.h) on the local backend, and store URIs.
#include "store/store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/store_suite.h"

namespace binlake::store {
namespace {

using suite::Backend;
using suite::StoreTest;

std::vector<Backend> Backends() {
  return {
      {"path", [](const std::string& d) { return OpenStore(d + "/store"); }},
      {"file_uri", [](const std::string& d) { return OpenStore("file://" + d + "/store/"); }},
  };
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::ValuesIn(Backends()),
                         [](const auto& info) { return info.param.name; });

TEST(StoreUriTest, Parses) {
  auto a = ParseStoreUri("/srv/lake");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->kind, StoreUri::Kind::kLocal);
  EXPECT_EQ(a->path, "/srv/lake");
  auto f = ParseStoreUri("file:///srv/lake");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->path, "/srv/lake");
  auto s = ParseStoreUri("s3://bucket/stage/v1");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->kind, StoreUri::Kind::kS3);
  EXPECT_EQ(s->bucket, "bucket");
  EXPECT_EQ(s->prefix, "stage/v1/");
  auto b = ParseStoreUri("s3://bucket");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->prefix, "");
  for (const char* bad : {"relative/dir", "file://host/x", "gs://b/p", "s3://", "s3:///p"}) {
    EXPECT_EQ(ParseStoreUri(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace binlake::store
