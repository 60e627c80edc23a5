// The S3 backend against a real S3 server (SeaweedFS, started by the `s3` CTest fixture): the
// generic store suite, multipart, listing pages, the errors a misconfiguration gives, and retries
// through a fault-injecting proxy (faulty_s3_proxy.py).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/aws_config.h"
#include "store/s3_store.h"
#include "store/store_suite.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace binlake::store {
namespace {

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && v[0] != '\0' ? v : fallback;
}
const std::string kPort = EnvOr("BINLAKE_TEST_S3_PORT", BINLAKE_TEST_S3_PORT_DEFAULT);
const std::string kDir = EnvOr("BINLAKE_TEST_S3_DIR", BINLAKE_TEST_S3_DIR_DEFAULT);
const std::string kBucket = BINLAKE_TEST_S3_BUCKET;
const std::string kCredentials = kDir + "/credentials";

std::string Endpoint(const std::string& port = kPort) { return "http://127.0.0.1:" + port; }

S3Options TestOptions() {
  S3Options o;
  o.endpoint = Endpoint();
  o.profile = "binlake";
  o.max_retries = 3;
  return o;
}

// Only the test server's credentials file: the process environment is never consulted.
EnvLookup TestEnv() {
  return MapEnv({{"AWS_SHARED_CREDENTIALS_FILE", kCredentials}, {"HOME", "/nonexistent"}});
}

std::string RandomPrefix() {
  static std::mt19937_64 rng{std::random_device{}()};
  return "t" + std::to_string(rng() % 1000000000000ULL) + "/";
}

StoreUri Uri(const std::string& prefix, const std::string& bucket = kBucket) {
  StoreUri u;
  u.kind = StoreUri::Kind::kS3;
  u.bucket = bucket;
  u.prefix = prefix;
  return u;
}

Result<std::unique_ptr<ObjectStore>> OpenTest(const std::string& prefix,
                                              S3Options o = TestOptions(), int page = 1000) {
  return OpenS3Store(Uri(prefix), o, TestEnv(), page);
}

std::unique_ptr<ObjectStore> MustOpen(const std::string& prefix, S3Options o = TestOptions(),
                                      int page = 1000) {
  auto s = OpenTest(prefix, std::move(o), page);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

std::vector<std::string> Keys(ObjectStore* s, const ListOptions& o = {}) {
  auto r = s->List(o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> keys;
  if (r.ok()) {
    for (const auto& i : *r) keys.push_back(i.key);
  }
  return keys;
}

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  uint64_t x = 0x9E3779B97F4A7C15ULL * (seed + 1);
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>(x);
  }
  return s;
}

std::string ReadSecret() {
  std::ifstream in(kCredentials);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("aws_secret_access_key = ", 0) == 0) return line.substr(24);
  }
  return "";
}
std::string ReadKeyId() {
  std::ifstream in(kCredentials);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("aws_access_key_id = ", 0) == 0) return line.substr(20);
  }
  return "";
}

// ---- The generic suite, one fresh prefix per test ----

using suite::StoreTest;

std::vector<suite::Backend> S3Backends() {
  return {{"seaweedfs", [](const std::string&) { return OpenTest(RandomPrefix()); }}};
}
INSTANTIATE_TEST_SUITE_P(S3, StoreTest, ::testing::ValuesIn(S3Backends()),
                         [](const auto& info) { return info.param.name; });

// ---- S3 specifics ----

S3Options SmallParts() {
  S3Options o = TestOptions();
  o.part_bytes = uint64_t{5} << 20;
  return o;
}

TEST(S3StoreTest, MultipartWithFiveMiBParts) {
  auto store = MustOpen(RandomPrefix(), SmallParts());
  ASSERT_NE(store, nullptr);
  const std::string data = Pattern((size_t{12} << 20) + 12345, 1);
  auto w = store->Create("mp/object.bin");
  ASSERT_OK(w);
  for (size_t off = 0; off < data.size(); off += 1000003) {
    ASSERT_OK((*w)->Write(std::string_view(data).substr(off, 1000003)));
  }
  EXPECT_EQ(store->Stat("mp/object.bin").status().code(), StatusCode::kNotFound);
  ASSERT_OK((*w)->Close());
  auto st = store->Stat("mp/object.bin");
  ASSERT_OK(st);
  EXPECT_EQ(st->size, data.size());
  auto got = store->Get("mp/object.bin");
  ASSERT_OK(got);
  EXPECT_TRUE(*got == data);
  const uint64_t boundary = uint64_t{5} << 20;
  auto range = store->GetRange("mp/object.bin", boundary - 10, 20);
  ASSERT_OK(range);
  EXPECT_EQ(*range, data.substr(boundary - 10, 20));
  auto reader = store->Open("mp/object.bin");
  ASSERT_OK(reader);
  std::string streamed;
  std::string buf(1 << 20, '\0');
  while (true) {
    auto n = (*reader)->Read(buf.data(), buf.size());
    ASSERT_OK(n);
    if (*n == 0) break;
    streamed.append(buf.data(), *n);
  }
  EXPECT_TRUE(streamed == data);
}

TEST(S3StoreTest, AbandonedMultipartLeavesNothing) {
  auto store = MustOpen(RandomPrefix(), SmallParts());
  ASSERT_NE(store, nullptr);
  {
    auto w = store->Create("mp/abandoned.bin");
    ASSERT_OK(w);
    ASSERT_OK((*w)->Write(Pattern(size_t{11} << 20, 2)));  // two parts uploaded
  }
  EXPECT_TRUE(Keys(store.get()).empty());
  EXPECT_EQ(store->Stat("mp/abandoned.bin").status().code(), StatusCode::kNotFound);
}

TEST(S3StoreTest, MultipartCreateIfAbsent) {
  auto store = MustOpen(RandomPrefix(), SmallParts());
  ASSERT_NE(store, nullptr);
  const std::string first = Pattern(size_t{6} << 20, 3);
  auto w = store->Create("mp/c.bin", PutMode::kCreateIfAbsent);
  ASSERT_OK(w);
  ASSERT_OK((*w)->Write(first));
  ASSERT_OK((*w)->Close());
  auto again = store->Create("mp/c.bin", PutMode::kCreateIfAbsent);
  ASSERT_OK(again);
  ASSERT_OK((*again)->Write(Pattern(size_t{6} << 20, 4)));
  const Status st = (*again)->Close();
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  EXPECT_TRUE(store->Get("mp/c.bin").value() == first);
}

TEST(S3StoreTest, ListPagesWithContinuationTokens) {
  auto store = MustOpen(RandomPrefix(), TestOptions(), /*page=*/7);
  ASSERT_NE(store, nullptr);
  std::vector<std::string> expect;
  for (int i = 0; i < 40; ++i) {
    char k[32];
    std::snprintf(k, sizeof k, "p/%03d", i);
    ASSERT_OK(store->Put(k, k));
    expect.push_back(k);
  }
  EXPECT_EQ(Keys(store.get()), expect);
  ListOptions after;
  after.start_after = "p/025";
  EXPECT_EQ(Keys(store.get(), after), std::vector<std::string>(expect.begin() + 26, expect.end()));
  ListOptions limited;
  limited.prefix = "p/01";
  limited.max_keys = 9;
  EXPECT_EQ(Keys(store.get(), limited),
            std::vector<std::string>(expect.begin() + 10, expect.begin() + 19));
}

TEST(S3StoreTest, ListMoreThanOneThousandKeys) {
  auto store = MustOpen(RandomPrefix());
  ASSERT_NE(store, nullptr);
  constexpr int kKeys = 1003;
  std::vector<std::thread> threads;
  std::vector<Status> errors(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kKeys && errors[t].ok(); i += 4) {
        errors[t] = store->Put("k/" + std::to_string(100000 + i), "");
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) ASSERT_OK(e);
  const auto keys = Keys(store.get());
  ASSERT_EQ(keys.size(), size_t{kKeys});
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  EXPECT_EQ(keys.front(), "k/100000");
  EXPECT_EQ(keys.back(), "k/101002");
}

TEST(S3StoreTest, KeysAreEncodedAndPrefixesIsolated) {
  const std::string prefix = RandomPrefix();
  auto store = MustOpen(prefix + "inner/");
  auto root = MustOpen("");
  ASSERT_NE(store, nullptr);
  ASSERT_NE(root, nullptr);
  const std::string odd = "a b/c+d=e&f%25/\xc3\xa9~x'y(z).csv";
  ASSERT_OK(store->Put(odd, "odd"));
  EXPECT_EQ(store->Get(odd).value(), "odd");
  EXPECT_EQ(Keys(store.get()), std::vector<std::string>{odd});
  ListOptions o;
  o.prefix = prefix;
  EXPECT_EQ(Keys(root.get(), o), std::vector<std::string>{prefix + "inner/" + odd});
  EXPECT_EQ(store->uri(), "s3://" + kBucket + "/" + prefix + "inner");
}

// ---- What a misconfiguration says ----

TEST(S3ErrorsTest, WrongSecretIsRefusedWithoutShowingIt) {
  testing::TempDir dir;
  const std::string creds = dir.path() + "/credentials";
  const std::string wrong = "wrong" + ReadSecret().substr(5);
  {
    std::ofstream out(creds);
    out << "[binlake]\naws_access_key_id = " << ReadKeyId() << "\naws_secret_access_key = " << wrong
        << "\n";
  }
  ::chmod(creds.c_str(), 0600);
  auto s = OpenS3Store(Uri(RandomPrefix()), TestOptions(),
                       MapEnv({{"AWS_SHARED_CREDENTIALS_FILE", creds}}));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnauthenticated) << s.status().ToString();
  EXPECT_NE(s.status().message().find("profile 'binlake' in " + creds), std::string::npos)
      << s.status().ToString();
  EXPECT_EQ(s.status().message().find(wrong), std::string::npos);
  EXPECT_EQ(s.status().message().find(ReadSecret()), std::string::npos);
  EXPECT_EQ(s.status().message().find('\n'), std::string::npos);

  auto e = OpenS3Store(Uri(RandomPrefix()), TestOptions(),
                       MapEnv({{"AWS_ACCESS_KEY_ID", ReadKeyId()},
                               {"AWS_SECRET_ACCESS_KEY", wrong},
                               {"AWS_SESSION_TOKEN", "TOKENVALUE"}}));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kUnauthenticated) << e.status().ToString();
  EXPECT_NE(e.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
  EXPECT_EQ(e.status().message().find(wrong), std::string::npos);
  EXPECT_EQ(e.status().message().find("TOKENVALUE"), std::string::npos);
}

TEST(S3ErrorsTest, MissingBucket) {
  auto s = OpenS3Store(Uri("p/", "binlake-no-such-bucket"), TestOptions(), TestEnv());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << s.status().ToString();
  EXPECT_NE(s.status().message().find("s3://binlake-no-such-bucket/p"), std::string::npos);
  EXPECT_NE(s.status().message().find("bucket does not exist"), std::string::npos)
      << s.status().ToString();
}

TEST(S3ErrorsTest, WrongEndpointFailsAtOpen) {
  S3Options o = TestOptions();
  o.endpoint = "http://127.0.0.1:1";  // nothing listens there
  o.max_retries = 1;
  const auto start = std::chrono::steady_clock::now();
  auto s = OpenS3Store(Uri("p/"), o, TestEnv());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kNetwork) << s.status().ToString();
  EXPECT_NE(s.status().message().find("cannot reach the S3 endpoint http://127.0.0.1:1"),
            std::string::npos)
      << s.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  o.endpoint = "http://no-such-host.invalid:9000";
  auto d = OpenS3Store(Uri("p/"), o, TestEnv());
  EXPECT_EQ(d.status().code(), StatusCode::kNetwork) << d.status().ToString();
}

// SeaweedFS does not check the region of the signature's scope (AWS answers 400
// AuthorizationHeaderMalformed with the right region; s3_store_test.cc maps that answer).
TEST(S3ErrorsTest, OtherRegionIsAcceptedBySeaweedfs) {
  S3Options o = TestOptions();
  o.region = "eu-west-1";
  auto s = OpenS3Store(Uri(RandomPrefix()), o, TestEnv());
  if (!s.ok()) {
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << s.status().ToString();
    EXPECT_NE(s.status().message().find("region"), std::string::npos) << s.status().ToString();
  }
}

TEST(S3ErrorsTest, OpenStoreUsesTheProcessEnvironment) {
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", kCredentials.c_str(), 1);
  ::setenv("AWS_PROFILE", "binlake", 1);
  ::setenv("AWS_ENDPOINT_URL_S3", Endpoint().c_str(), 1);
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  auto s = OpenStore("s3://" + kBucket + "/" + RandomPrefix());
  ::unsetenv("AWS_SHARED_CREDENTIALS_FILE");
  ::unsetenv("AWS_PROFILE");
  ::unsetenv("AWS_ENDPOINT_URL_S3");
  ASSERT_OK(s);
  ASSERT_OK((*s)->Put("x", "y"));
  EXPECT_EQ((*s)->Get("x").value(), "y");
  EXPECT_TRUE((*s)->SupportsCreateIfAbsent());
}

// ---- Through the fault-injecting proxy ----

class Proxy {
 public:
  explicit Proxy(std::vector<std::string> args) {
    int out[2];
    if (::pipe(out) != 0) return;
    log_ = ::testing::TempDir() + "faulty_s3_proxy." + std::to_string(::getpid()) + "." +
           std::to_string(counter_++) + ".log";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      const int err = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (err >= 0) ::dup2(err, 2);
      ::close(out[0]);
      args.insert(args.begin(),
                  {"python3", std::string(BINLAKE_SOURCE_DIR) + "/tests/store/faulty_s3_proxy.py",
                   "--upstream-port", kPort});
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("python3", argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    ::close(out[0]);
    if (line.rfind("PORT ", 0) == 0) port_ = line.substr(5);
  }
  ~Proxy() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;
  const std::string& port() const { return port_; }
  std::string Log() const {
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  static inline int counter_ = 0;
  pid_t pid_ = -1;
  std::string port_;
  std::string log_;
};

S3Options ViaProxy(const Proxy& p) {
  S3Options o = TestOptions();
  o.endpoint = Endpoint(p.port());
  o.max_retries = 30;
  o.request_timeout_ms = 1000;
  o.connect_timeout_ms = 1000;
  o.part_bytes = uint64_t{5} << 20;
  return o;
}

TEST(S3RetryTest, WorkloadThroughAFaultyProxyEndsExactlyRight) {
  Proxy proxy({"--seed", "42", "--rate", "0.25", "--delay", "1.5"});
  ASSERT_FALSE(proxy.port().empty());
  const std::string prefix = RandomPrefix();
  std::unique_ptr<ObjectStore> store;
  for (int i = 0; i < 5 && store == nullptr; ++i) {  // open itself may meet faults
    auto s = OpenTest(prefix, ViaProxy(proxy));
    if (s.ok()) store = std::move(s).value();
  }
  ASSERT_NE(store, nullptr);
  auto direct = MustOpen(prefix);
  ASSERT_NE(direct, nullptr);

  std::map<std::string, std::string> expect;
  for (int i = 0; i < 30; ++i) {
    const std::string key = "w/" + std::to_string(1000 + i);
    const std::string data = Pattern(static_cast<size_t>(i) * 3001, i);
    ASSERT_OK(store->Put(key, data));
    expect[key] = data;
  }
  for (const auto& [k, v] : expect) {
    auto got = store->Get(k);
    ASSERT_OK(got);
    EXPECT_TRUE(*got == v) << k;
    if (v.size() < 7) continue;
    auto range = store->GetRange(k, 7, 100);
    ASSERT_OK(range);
    EXPECT_EQ(*range, v.substr(7, 100)) << k;
  }
  ListOptions w;
  w.prefix = "w/";
  std::vector<std::string> keys;
  for (const auto& [k, v] : expect) keys.push_back(k);
  EXPECT_EQ(Keys(store.get(), w), keys);

  // Create-if-absent on new keys: ours either way (ok, or AlreadyExists after a lost answer).
  int lost = 0;
  for (int i = 0; i < 20; ++i) {
    const std::string key = "c/" + std::to_string(i);
    const std::string data = "commit " + std::to_string(i);
    const Status st = store->Put(key, data, PutMode::kCreateIfAbsent);
    if (st.code() == StatusCode::kAlreadyExists) {
      ++lost;
    } else {
      ASSERT_OK(st);
    }
    expect[key] = data;
    // A second writer always loses, and never changes the bytes.
    EXPECT_EQ(store->Put(key, "other", PutMode::kCreateIfAbsent).code(),
              StatusCode::kAlreadyExists);
  }
  // A multipart object through the faults.
  const std::string big = Pattern((size_t{11} << 20) + 7, 99);
  {
    auto wr = store->Create("m/big.bin");
    ASSERT_OK(wr);
    ASSERT_OK((*wr)->Write(big));
    ASSERT_OK((*wr)->Close());
  }
  expect["m/big.bin"] = big;
  ASSERT_OK(store->Delete("w/1000"));
  expect.erase("w/1000");

  // Checked without the proxy: every object exactly, nothing else.
  std::vector<std::string> all;
  for (const auto& [k, v] : expect) {
    all.push_back(k);
    auto got = direct->Get(k);
    ASSERT_OK(got);
    EXPECT_TRUE(*got == v) << k;
  }
  EXPECT_EQ(Keys(direct.get()), all);
  const std::string log = proxy.Log();
  for (const char* f : {"slowdown", "internal", "drop", "delay", "lost"}) {
    EXPECT_NE(log.find(std::string(" ") + f + "\n"), std::string::npos) << "no " << f << " fault";
  }
  std::cout << "[ info ] create-if-absent answers lost then 412: " << lost << "\n";
}

TEST(S3RetryTest, LostConditionalPutAnswerIsAlreadyExistsWithOurBytes) {
  Proxy proxy({"--lose-response-for", "cia-lost"});
  ASSERT_FALSE(proxy.port().empty());
  const std::string prefix = RandomPrefix();
  auto store = MustOpen(prefix, ViaProxy(proxy));
  ASSERT_NE(store, nullptr);
  const Status st = store->Put("log/cia-lost.json", "ours", PutMode::kCreateIfAbsent);
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  EXPECT_EQ(MustOpen(prefix)->Get("log/cia-lost.json").value(), "ours");
  // A plain PUT whose answer is lost is simply retried.
  ASSERT_OK(store->Put("log/cia-lost-2.json", "again"));
  EXPECT_EQ(MustOpen(prefix)->Get("log/cia-lost-2.json").value(), "again");
}

TEST(S3ConditionalTest, IgnoredConditionsAreRefusedUnlessSingleWriter) {
  Proxy proxy({"--ignore-conditions"});
  ASSERT_FALSE(proxy.port().empty());
  const std::string prefix = RandomPrefix();
  auto store = MustOpen(prefix, ViaProxy(proxy));
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->SupportsCreateIfAbsent());
  const Status st = store->Put("log/0.json", "x", PutMode::kCreateIfAbsent);
  EXPECT_EQ(st.code(), StatusCode::kNotSupported);
  EXPECT_NE(st.message().find("does not honour conditional writes (If-None-Match); set [s3] "
                              "single_writer = true"),
            std::string::npos)
      << st.ToString();
  EXPECT_EQ(
      st.message().rfind("s3://" + kBucket + "/" + prefix.substr(0, prefix.size() - 1) + ": ", 0),
      0u)
      << st.ToString();
  EXPECT_EQ(store->Create("log/0.json", PutMode::kCreateIfAbsent).status().code(),
            StatusCode::kNotSupported);
  EXPECT_TRUE(Keys(store.get()).empty()) << "the probe object is deleted";

  S3Options single = ViaProxy(proxy);
  single.single_writer = true;
  auto sw = MustOpen(prefix, single);
  ASSERT_NE(sw, nullptr);
  ASSERT_OK(sw->Put("log/0.json", "first", PutMode::kCreateIfAbsent));
  EXPECT_EQ(sw->Put("log/0.json", "second", PutMode::kCreateIfAbsent).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(sw->Get("log/0.json").value(), "first");
}

}  // namespace
}  // namespace binlake::store
