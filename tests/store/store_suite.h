// The generic ObjectStore behaviour suite: every backend instantiates it (store_test.cc: the local
// folder; s3_store_itest.cc: S3 against SeaweedFS), so they all keep the same contract.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"
#include "testing/temp_dir.h"

namespace binlake::store::suite {

struct Backend {
  std::string name;
  // A fresh, empty store for one test, placed under `scratch` when it is local.
  std::function<Result<std::unique_ptr<ObjectStore>>(const std::string& scratch)> open;
};

// gtest prints the backend by name in test listings, not as raw bytes.
inline void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

ListOptions Opts(std::string prefix, std::string start_after = "", size_t max_keys = 0) {
  ListOptions o;
  o.prefix = std::move(prefix);
  o.start_after = std::move(start_after);
  o.max_keys = max_keys;
  return o;
}

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    auto s = GetParam().open(dir_.path());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  std::vector<std::string> Keys(const ListOptions& o) {
    auto r = store_->List(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> keys;
    if (r.ok()) {
      for (const auto& i : *r) keys.push_back(i.key);
    }
    return keys;
  }
  testing::TempDir dir_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_P(StoreTest, PutGetStatDelete) {
  ASSERT_TRUE(store_->Put("a/b/c.csv", "hello").ok());
  auto g = store_->Get("a/b/c.csv");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(*g, "hello");
  auto s = store_->Stat("a/b/c.csv");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->key, "a/b/c.csv");
  EXPECT_EQ(s->size, 5u);
  EXPECT_GT(s->mtime_ms, 0);
  ASSERT_TRUE(store_->Put("a/b/c.csv", "replaced").ok());
  EXPECT_EQ(store_->Get("a/b/c.csv").value(), "replaced");
  ASSERT_TRUE(store_->Delete("a/b/c.csv").ok());
  EXPECT_EQ(store_->Get("a/b/c.csv").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Stat("a/b/c.csv").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->Delete("a/b/c.csv").ok()) << "deleting an absent key is ok";
}

TEST_P(StoreTest, EmptyAndBinaryObjects) {
  ASSERT_TRUE(store_->Put("empty", "").ok());
  EXPECT_EQ(store_->Get("empty").value(), "");
  std::string bin(70000, '\0');
  for (size_t i = 0; i < bin.size(); ++i) bin[i] = static_cast<char>(i * 31);
  ASSERT_TRUE(store_->Put("bin", bin).ok());
  EXPECT_EQ(store_->Get("bin").value(), bin);
}

TEST_P(StoreTest, MissingObject) {
  EXPECT_EQ(store_->Get("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Open("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->GetRange("nope", 0, 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Stat("dir/nope").status().code(), StatusCode::kNotFound);
}

TEST_P(StoreTest, CreateIfAbsentNeverOverwrites) {
  if (!store_->SupportsCreateIfAbsent()) GTEST_SKIP() << "no conditional writes";
  ASSERT_TRUE(store_->Put("log/00.json", "first", PutMode::kCreateIfAbsent).ok());
  const Status again = store_->Put("log/00.json", "second", PutMode::kCreateIfAbsent);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();
  EXPECT_EQ(store_->Get("log/00.json").value(), "first");
}

TEST_P(StoreTest, CreateIfAbsentRaceHasOneWinner) {
  if (!store_->SupportsCreateIfAbsent()) GTEST_SKIP() << "no conditional writes";
  constexpr int kWriters = 8;
  std::vector<Status> results(kWriters);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      results[i] =
          store_->Put("log/01.json", "writer " + std::to_string(i), PutMode::kCreateIfAbsent);
    });
  }
  for (auto& t : threads) t.join();
  int winners = 0;
  std::string winner;
  for (int i = 0; i < kWriters; ++i) {
    if (results[i].ok()) {
      ++winners;
      winner = "writer " + std::to_string(i);
    } else {
      EXPECT_EQ(results[i].code(), StatusCode::kAlreadyExists) << results[i].ToString();
    }
  }
  EXPECT_EQ(winners, 1);
  EXPECT_EQ(store_->Get("log/01.json").value(), winner);
  EXPECT_EQ(Keys({}), std::vector<std::string>{"log/01.json"}) << "no temporary file is left";
}

TEST_P(StoreTest, RangedAndStreamingReads) {
  ASSERT_TRUE(store_->Put("r", "0123456789").ok());
  EXPECT_EQ(store_->GetRange("r", 2, 3).value(), "234");
  EXPECT_EQ(store_->GetRange("r", 8, 100).value(), "89") << "clipped at the end";
  EXPECT_EQ(store_->GetRange("r", 10, 5).value(), "");
  EXPECT_EQ(store_->GetRange("r", 11, 1).status().code(), StatusCode::kInvalidArgument);

  std::string big(300000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(store_->Put("big", big).ok());
  auto reader = store_->Open("big");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->size(), big.size());
  std::string got;
  char buf[4096];
  while (true) {
    auto n = (*reader)->Read(buf, sizeof buf);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    got.append(buf, *n);
  }
  EXPECT_EQ(got, big);
}

TEST_P(StoreTest, ListInByteOrderWithPrefixStartAfterAndLimit) {
  for (const char* k : {"t/b/2.csv", "t/a/1.csv", "t/a/10.csv", "t/a/2.csv", "u/x", "t.csv"}) {
    ASSERT_TRUE(store_->Put(k, k).ok()) << k;
  }
  EXPECT_EQ(Keys({}), (std::vector<std::string>{"t.csv", "t/a/1.csv", "t/a/10.csv", "t/a/2.csv",
                                                "t/b/2.csv", "u/x"}));
  EXPECT_EQ(Keys(Opts("t/a/")), (std::vector<std::string>{"t/a/1.csv", "t/a/10.csv", "t/a/2.csv"}));
  EXPECT_EQ(Keys(Opts("t/a/1")), (std::vector<std::string>{"t/a/1.csv", "t/a/10.csv"}));
  EXPECT_EQ(Keys(Opts("t")).size(), 5u) << "a plain string prefix, as in S3";
  EXPECT_EQ(Keys(Opts("t/", "t/a/10.csv")), (std::vector<std::string>{"t/a/2.csv", "t/b/2.csv"}));
  EXPECT_EQ(Keys(Opts("t/", "", 2)), (std::vector<std::string>{"t/a/1.csv", "t/a/10.csv"}));
  EXPECT_TRUE(Keys(Opts("none/")).empty());
  auto infos = store_->List(Opts("u/"));
  ASSERT_TRUE(infos.ok());
  ASSERT_EQ(infos->size(), 1u);
  EXPECT_EQ((*infos)[0].size, 3u);
}

TEST_P(StoreTest, BadKeysAreRefused) {
  for (const char* k : {"", "/abs", "a//b", "a/../b", "./a", "dir/"}) {
    const Status st = store_->Put(k, "x");
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << "'" << k << "': " << st.ToString();
  }
}

TEST_P(StoreTest, StreamingWriteIsInvisibleUntilClose) {
  auto w = store_->Create("big/object.bin");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  std::string expect;
  for (int i = 0; i < 40; ++i) {
    std::string chunk(size_t{1} << 18, static_cast<char>('a' + i % 26));  // 10 MiB in all
    ASSERT_TRUE((*w)->Write(chunk).ok());
    expect += chunk;
  }
  EXPECT_EQ(store_->Stat("big/object.bin").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Keys(Opts("big/")).empty());
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ((*w)->bytes_written(), expect.size());
  auto got = store_->Get("big/object.bin");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == expect);

  // Abandoned (destroyed without Close): nothing appears.
  {
    auto a = store_->Create("big/abandoned.bin");
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE((*a)->Write("partial").ok());
  }
  EXPECT_EQ(Keys(Opts("big/")), (std::vector<std::string>{"big/object.bin"}));

  // A streaming create-if-absent loses to an existing key.
  auto c = store_->Create("big/object.bin", PutMode::kCreateIfAbsent);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Write("other").ok());
  EXPECT_EQ((*c)->Close().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->Stat("big/object.bin")->size, expect.size());
}

TEST_P(StoreTest, PutFileUploadsALocalFile) {
  const std::string local = dir_.path() + "/local.csv";
  {
    std::FILE* f = std::fopen(local.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fputs("id,name\n1,a\n", f);
    std::fclose(f);
  }
  ASSERT_TRUE(store_->PutFile("s/t/file.csv", local).ok());
  auto got = store_->Get("s/t/file.csv");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "id,name\n1,a\n");
  EXPECT_EQ(store_->PutFile("s/t/file.csv", local, PutMode::kCreateIfAbsent).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->PutFile("s/t/none.csv", dir_.path() + "/missing").code(), StatusCode::kIOError);
  EXPECT_EQ(Keys(Opts("s/")), (std::vector<std::string>{"s/t/file.csv"}));
}

}  // namespace binlake::store::suite
