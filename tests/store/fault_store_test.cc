// The fault-injecting store wrapper: seeded, fails before or after the operation.
#include "store/fault_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <string>
#include <vector>

#include "testing/temp_dir.h"

namespace binlake::store {
namespace {

std::unique_ptr<ObjectStore> Local(const std::string& dir) {
  auto s = OpenStore(dir + "/store");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

TEST(FaultStoreTest, ParsesTheSpec) {
  auto o = ParseFaultSpec("rate=0.05,seed=7");
  ASSERT_TRUE(o.ok());
  EXPECT_DOUBLE_EQ(o->rate, 0.05);
  EXPECT_EQ(o->seed, 7u);
  EXPECT_DOUBLE_EQ(ParseFaultSpec("seed=1,rate=1,after=0")->after_share, 0.0);
  for (const char* bad : {"", "seed=7", "rate=2", "rate=x", "rate=0.1,foo=1", "rate"}) {
    EXPECT_EQ(ParseFaultSpec(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(FaultStoreTest, BeforeFailsWithoutDoingIt) {
  testing::TempDir dir;
  auto store = WrapWithFaults(Local(dir.path()), {1.0, 3, 0.0});
  const Status st = store->Put("k", "v");
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("injected fault"), std::string::npos);
  EXPECT_EQ(Local(dir.path())->Get("k").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Create("w").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store->List({}).status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(store->SupportsCreateIfAbsent()) << "never faulted";
}

TEST(FaultStoreTest, AfterDoesItThenFails) {
  testing::TempDir dir;
  auto store = WrapWithFaults(Local(dir.path()), {1.0, 3, 1.0});
  EXPECT_EQ(store->Put("k", "v", PutMode::kCreateIfAbsent).code(), StatusCode::kUnavailable);
  EXPECT_EQ(Local(dir.path())->Get("k").value(), "v") << "the answer was lost, not the write";
  EXPECT_EQ(store->Delete("k").code(), StatusCode::kUnavailable);
  EXPECT_EQ(Local(dir.path())->Get("k").status().code(), StatusCode::kNotFound);
}

// The same seed gives the same faults; a rate gives about that share of failures.
TEST(FaultStoreTest, SeededAndAboutTheRate) {
  testing::TempDir dir;
  const auto run = [&](uint64_t seed) {
    auto store = WrapWithFaults(Local(dir.path()), {0.2, seed, 0.5});
    std::vector<int> outcome;
    for (int i = 0; i < 2000; ++i) {
      outcome.push_back(
          static_cast<int>(store->Stat("k" + std::to_string(i % 10)).status().code()));
    }
    return outcome;
  };
  const auto a = run(7);
  EXPECT_EQ(a, run(7));
  EXPECT_NE(a, run(8));
  const auto failed = std::count(a.begin(), a.end(), static_cast<int>(StatusCode::kUnavailable));
  EXPECT_GT(failed, 300);
  EXPECT_LT(failed, 500);
  EXPECT_EQ(failed + std::count(a.begin(), a.end(), static_cast<int>(StatusCode::kNotFound)), 2000);
}

TEST(FaultStoreTest, ReadersAndWritersFaultToo) {
  testing::TempDir dir;
  auto store = WrapWithFaults(Local(dir.path()), {0.3, 11, 0.5});
  int write_ok = 0;
  int write_fail = 0;
  for (int i = 0; i < 50; ++i) {
    auto w = store->Create("obj" + std::to_string(i));
    if (!w.ok()) continue;
    Status st = (*w)->Write("data");
    if (st.ok()) st = (*w)->Close();
    (st.ok() ? write_ok : write_fail)++;
  }
  EXPECT_GT(write_ok, 0);
  EXPECT_GT(write_fail, 0);
}

TEST(FaultStoreTest, OpenStoreReadsTheEnvironment) {
  testing::TempDir dir;
  ::setenv("BINLAKE_STORE_FAULTS", "rate=1,seed=1,after=0", 1);
  auto s = OpenStore(dir.path() + "/s");
  auto bad = OpenStore(dir.path() + "/s2");
  ::setenv("BINLAKE_STORE_FAULTS", "rate=oops", 1);
  auto refused = OpenStore(dir.path() + "/s3");
  ::unsetenv("BINLAKE_STORE_FAULTS");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->Put("k", "v").code(), StatusCode::kUnavailable);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  auto plain = OpenStore(dir.path() + "/s");
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE((*plain)->Put("k", "v").ok());
}

}  // namespace
}  // namespace binlake::store
