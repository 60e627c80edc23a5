// S3 ObjectStore: each operation is one signed request (or a multipart upload), retried on
// transient failures; errors map to one-line Statuses naming the store and the fix.
#include "store/s3_store.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "store/http.h"
#include "store/sigv4.h"

namespace binlake::store {

namespace s3 {

std::string XmlUnescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    const size_t semi = s.find(';', i);
    if (semi == std::string_view::npos) {
      out.push_back('&');
      continue;
    }
    const std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp") {
      out.push_back('&');
    } else if (ent == "lt") {
      out.push_back('<');
    } else if (ent == "gt") {
      out.push_back('>');
    } else if (ent == "quot") {
      out.push_back('"');
    } else if (ent == "apos") {
      out.push_back('\'');
    } else if (ent.size() > 1 && ent[0] == '#') {
      const bool hex = ent[1] == 'x' || ent[1] == 'X';
      const std::string digits(ent.substr(hex ? 2 : 1));
      char* end = nullptr;
      const unsigned long cp = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
      if (digits.empty() || *end != '\0' || cp > 0x10FFFF) {
        out.append(s.substr(i, semi - i + 1));
      } else if (cp < 0x80) {  // UTF-8 encode the code point
        out.push_back(static_cast<char>(cp));
      } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      }
    } else {
      out.append(s.substr(i, semi - i + 1));  // unknown entity: kept as is
    }
    i = semi;
  }
  return out;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

namespace {

// The raw inner text of the next <tag>...</tag> at or after *pos; advances *pos past it.
std::optional<std::string_view> NextElement(std::string_view xml, std::string_view tag,
                                            size_t* pos) {
  const std::string open = "<" + std::string(tag);
  const std::string close = "</" + std::string(tag) + ">";
  size_t at = *pos;
  while (true) {
    const size_t start = xml.find(open, at);
    if (start == std::string_view::npos) return std::nullopt;
    const size_t after = start + open.size();
    if (after >= xml.size()) return std::nullopt;
    const char next = xml[after];
    if (next == '/') {  // <Tag/>: empty
      *pos = after;
      return std::string_view();
    }
    if (next != '>' && next != ' ') {  // <TagSomethingElse>
      at = after;
      continue;
    }
    const size_t gt = xml.find('>', after);
    if (gt == std::string_view::npos) return std::nullopt;
    if (xml[gt - 1] == '/') {
      *pos = gt + 1;
      return std::string_view();
    }
    const size_t end = xml.find(close, gt + 1);
    if (end == std::string_view::npos) return std::nullopt;
    *pos = end + close.size();
    return xml.substr(gt + 1, end - gt - 1);
  }
}

// "2024-01-02T03:04:05.678Z" -> ms since the epoch; 0 when unparsable.
int64_t ParseIsoMs(std::string_view s) {
  std::tm tm{};
  int ms = 0;
  const std::string str(s);
  if (std::sscanf(str.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return 0;
  }
  const size_t dot = str.find('.');
  if (dot != std::string::npos) {
    int digits = 0;
    for (size_t i = dot + 1; i < str.size() && digits < 3 && std::isdigit(str[i]); ++i, ++digits) {
      ms = ms * 10 + (str[i] - '0');
    }
    for (; digits < 3; ++digits) ms *= 10;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

// "Wed, 21 Oct 2015 07:28:00 GMT" -> ms since the epoch; 0 when unparsable.
int64_t ParseHttpDateMs(const std::string& s) {
  std::tm tm{};
  if (strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm) == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

}  // namespace

std::string XmlValue(std::string_view xml, std::string_view tag) {
  size_t pos = 0;
  auto v = NextElement(xml, tag, &pos);
  return v ? XmlUnescape(*v) : "";
}

Result<ListPage> ParseListObjectsV2(std::string_view xml) {
  if (xml.find("<ListBucketResult") == std::string_view::npos) {
    return Status::Corruption("ListObjectsV2 answer is not a ListBucketResult: " +
                              std::string(xml.substr(0, 200)));
  }
  ListPage page;
  size_t pos = 0;
  while (auto contents = NextElement(xml, "Contents", &pos)) {
    ObjectInfo info;
    size_t p = 0;
    auto key = NextElement(*contents, "Key", &p);
    if (!key) return Status::Corruption("ListObjectsV2 answer has a <Contents> without <Key>");
    info.key = XmlUnescape(*key);
    const std::string size = XmlValue(*contents, "Size");
    char* end = nullptr;
    info.size = std::strtoull(size.c_str(), &end, 10);
    if (size.empty() || *end != '\0') {
      return Status::Corruption("ListObjectsV2 answer has a bad <Size> for key " + info.key);
    }
    info.mtime_ms = ParseIsoMs(XmlValue(*contents, "LastModified"));
    page.objects.push_back(std::move(info));
  }
  page.truncated = XmlValue(xml, "IsTruncated") == "true";
  page.next_token = XmlValue(xml, "NextContinuationToken");
  if (page.truncated && page.next_token.empty()) {
    return Status::Corruption("ListObjectsV2 answer is truncated but has no NextContinuationToken");
  }
  return page;
}

Status ErrorStatus(const std::string& uri, std::string_view what, long http_status,
                   const std::map<std::string, std::string>& headers, std::string_view body,
                   const AwsConfig& cfg) {
  std::string code = XmlValue(body, "Code");
  const std::string message = XmlValue(body, "Message");
  const std::string head = uri + ": " + std::string(what) + ": ";
  std::string detail = std::to_string(http_status);
  if (!code.empty()) detail += " " + code;
  if (code.empty()) {
    if (http_status == 404) code = "NoSuchKey";
    if (http_status == 412) code = "PreconditionFailed";
    if (http_status == 301 || http_status == 307) code = "PermanentRedirect";
  }
  std::string bucket_region = XmlValue(body, "Region");
  if (auto it = headers.find("x-amz-bucket-region"); it != headers.end()) {
    bucket_region = it->second;
  }
  if (code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "ExpiredToken" ||
      code == "InvalidToken" || code == "TokenRefreshRequired" || code == "InvalidSecurity") {
    return Status::Unauthenticated(head + detail + ": the credentials were refused (" +
                                   cfg.credentials_source +
                                   "); check that access key and its secret (and session token)");
  }
  if (code == "AccessDenied" || code == "AllAccessDisabled" || code == "AccountProblem") {
    return Status::PermissionDenied(
        head + detail + ": the credentials (" + cfg.credentials_source +
        ") are not allowed to do this; grant them s3:GetObject, "
        "s3:PutObject, s3:DeleteObject and s3:ListBucket on the bucket");
  }
  if (code == "NoSuchBucket") {
    return Status::InvalidArgument(head + detail + ": the bucket does not exist at " + cfg.scheme +
                                   "://" + cfg.host + "; create it or fix the store URI");
  }
  if (code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" ||
      code == "IllegalLocationConstraintException" || code == "IncorrectEndpoint" ||
      (code == "AuthorizationQueryParametersError" && !bucket_region.empty())) {
    if (!bucket_region.empty() && bucket_region != cfg.region) {
      return Status::InvalidArgument(head + detail + ": the bucket is in region " + bucket_region +
                                     ", not " + cfg.region + " (" + cfg.region_source +
                                     "); set [s3] region = \"" + bucket_region +
                                     "\" or AWS_REGION=" + bucket_region);
    }
    return Status::InvalidArgument(head + detail + ": wrong region or endpoint (region " +
                                   cfg.region + " from " + cfg.region_source +
                                   "); set [s3] region to the bucket's region");
  }
  if (code == "NoSuchKey" || (http_status == 404 && code != "NoSuchUpload")) {
    return Status::NotFound(head + "no such key");
  }
  if (code == "PreconditionFailed" || code == "ConditionalRequestConflict") {
    return Status::AlreadyExists(head + detail + ": the key already exists (another writer " +
                                 "created it, or an earlier attempt of this write did)");
  }
  if (http_status >= 500 || http_status == 429 || code == "SlowDown" || code == "RequestTimeout") {
    return Status::Unavailable(head + detail + (message.empty() ? "" : " (" + message + ")") +
                               ": the server kept failing after retries; try again later or "
                               "raise [s3] max_retries");
  }
  if (http_status == 403) {
    return Status::PermissionDenied(head + detail + ": forbidden with the credentials (" +
                                    cfg.credentials_source +
                                    "); check them and the bucket's policy");
  }
  return Status::Server(head + detail + (message.empty() ? "" : " (" + message + ")"));
}

}  // namespace s3

namespace {

constexpr uint64_t kMinPartBytes = uint64_t{5} << 20;  // S3's minimum part (all but the last)
constexpr uint64_t kReadChunkBytes = uint64_t{8} << 20;
const char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

using Params = std::vector<std::pair<std::string, std::string>>;

struct Call {
  std::string method;
  std::string key;  // full object key; "" for the bucket
  Params query;
  Params headers;  // besides host / x-amz-*
  std::string_view body;
  std::string what;  // "PUT a/b.csv", for messages
};

struct Answer {
  http::Response resp;
  int attempts = 0;
};

std::string RandomHex(size_t bytes) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out;
  static const char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < bytes * 2; ++i) out.push_back(kDigits[rng() & 15]);
  return out;
}

// Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): uniform in
// [0, min(cap, base * 2^attempt)].
void BackoffSleep(int attempt) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  constexpr uint64_t kBaseMs = 50;
  constexpr uint64_t kCapMs = 5000;
  uint64_t ceiling = kBaseMs;
  for (int i = 1; i < attempt && ceiling < kCapMs; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, kCapMs);
  std::this_thread::sleep_for(std::chrono::milliseconds(rng() % (ceiling + 1)));
}

class S3Store : public ObjectStore {
 public:
  S3Store(std::string uri, StoreUri parsed, S3Options options, AwsConfig cfg, int list_page_keys)
      : uri_(std::move(uri)),
        bucket_(std::move(parsed.bucket)),
        prefix_(std::move(parsed.prefix)),
        options_(std::move(options)),
        cfg_(std::move(cfg)),
        list_page_keys_(list_page_keys) {
    bool path_style = options_.addressing == S3Options::Addressing::kPath ||
                      (options_.addressing == S3Options::Addressing::kAuto && cfg_.custom_endpoint);
    // A bucket name with dots breaks the TLS wildcard certificate of virtual-host addressing.
    if (options_.addressing == S3Options::Addressing::kAuto && cfg_.scheme == "https" &&
        bucket_.find('.') != std::string::npos) {
      path_style = true;
    }
    path_style_ = path_style;
    host_ = path_style_ ? cfg_.host : bucket_ + "." + cfg_.host;
  }

  std::string uri() const override { return uri_; }

  bool SupportsCreateIfAbsent() const override {
    auto r = Probe();
    return r.ok() && *r;
  }

  Status Put(std::string_view key, std::string_view data, PutMode mode) override {
    BL_RETURN_IF_ERROR(ValidateKey(key));
    return PutObject(Full(key), data, mode);
  }

  Result<std::unique_ptr<ObjectWriter>> Create(std::string_view key, PutMode mode) override;

  Result<std::string> Get(std::string_view key) override {
    BL_RETURN_IF_ERROR(ValidateKey(key));
    BL_ASSIGN_OR_RETURN(Answer a, Send({"GET", Full(key), {}, {}, {}, "GET " + std::string(key)}));
    if (a.resp.status != 200) return Error("GET " + std::string(key), a.resp);
    return std::move(a.resp.body);
  }

  Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) override {
    BL_RETURN_IF_ERROR(ValidateKey(key));
    return ReadRange(Full(key), std::string(key), offset, length);
  }

  Result<std::unique_ptr<ObjectReader>> Open(std::string_view key) override;

  Result<std::vector<ObjectInfo>> List(const ListOptions& options) override {
    std::vector<ObjectInfo> out;
    std::string token;
    const std::string full_prefix = prefix_ + options.prefix;
    while (true) {
      size_t page = static_cast<size_t>(list_page_keys_);
      if (options.max_keys != 0) page = std::min(page, options.max_keys - out.size());
      Params q = {{"list-type", "2"}, {"prefix", full_prefix}, {"max-keys", std::to_string(page)}};
      if (!token.empty()) {
        q.emplace_back("continuation-token", token);
      } else if (!options.start_after.empty()) {
        q.emplace_back("start-after", prefix_ + options.start_after);
      }
      const std::string what = "LIST " + options.prefix;
      BL_ASSIGN_OR_RETURN(Answer a, Send({"GET", "", std::move(q), {}, {}, what}));
      if (a.resp.status != 200) return Error(what, a.resp);
      auto parsed = s3::ParseListObjectsV2(a.resp.body);
      if (!parsed.ok()) return parsed.status().WithContext(uri_);
      for (auto& info : parsed->objects) {
        if (!info.key.starts_with(prefix_)) {
          return Status::Corruption(uri_ + ": " + what + ": the server listed key '" + info.key +
                                    "' outside the prefix");
        }
        if (!options.start_after.empty() && info.key <= prefix_ + options.start_after) continue;
        info.key.erase(0, prefix_.size());
        out.push_back(std::move(info));
        if (options.max_keys != 0 && out.size() >= options.max_keys) return out;
      }
      if (!parsed->truncated) return out;
      token = parsed->next_token;
    }
  }

  Status Delete(std::string_view key) override {
    BL_RETURN_IF_ERROR(ValidateKey(key));
    const std::string what = "DELETE " + std::string(key);
    BL_ASSIGN_OR_RETURN(Answer a, Send({"DELETE", Full(key), {}, {}, {}, what}));
    if (a.resp.status == 200 || a.resp.status == 204 || a.resp.status == 404) return Status::Ok();
    return Error(what, a.resp);
  }

  Result<ObjectInfo> Stat(std::string_view key) override {
    BL_RETURN_IF_ERROR(ValidateKey(key));
    BL_ASSIGN_OR_RETURN(ObjectInfo info, Head(Full(key), "HEAD " + std::string(key)));
    info.key = std::string(key);
    return info;
  }

  // Checks the bucket answers to these credentials: one LIST of at most one key.
  Status CheckReachable() {
    Params q = {{"list-type", "2"}, {"prefix", prefix_}, {"max-keys", "1"}};
    BL_ASSIGN_OR_RETURN(Answer a, Send({"GET", "", std::move(q), {}, {}, "open (LIST)"}));
    if (a.resp.status != 200) return Error("open (LIST)", a.resp);
    return Status::Ok();
  }

  // --- used by the writer and reader ---

  std::string Full(std::string_view key) const { return prefix_ + std::string(key); }
  std::string Rel(const std::string& full) const { return full.substr(prefix_.size()); }
  const S3Options& options() const { return options_; }

  Status Error(const std::string& what, const http::Response& resp) const {
    return s3::ErrorStatus(uri_, what, resp.status, resp.headers, resp.body, cfg_);
  }

  // One request, signed afresh for each attempt, retried on transient failures.
  Result<Answer> Send(const Call& c) const {
    const std::string payload_hash =
        c.body.empty() ? std::string(kEmptySha256) : sigv4::Sha256Hex(c.body);
    std::string path = path_style_ ? "/" + bucket_ : "";
    if (!c.key.empty() || !path_style_) path += "/" + sigv4::UriEncode(c.key, true);
    const std::string query = sigv4::CanonicalQuery(c.query);
    http::Request req;
    req.method = c.method;
    req.url = cfg_.scheme + "://" + host_ + path + (query.empty() ? "" : "?" + query);
    req.body = c.body;
    req.connect_timeout_ms = options_.connect_timeout_ms;
    req.timeout_ms = options_.request_timeout_ms;
    req.ca_file = options_.ca_file;

    Answer a;
    std::string last;
    http::TransportError::Kind last_kind = http::TransportError::Kind::kOther;
    for (int attempt = 0; attempt <= options_.max_retries; ++attempt) {
      if (attempt > 0) BackoffSleep(attempt);
      a.attempts = attempt + 1;
      const std::string amz_date = sigv4::AmzDate(std::time(nullptr));
      sigv4::Request sr;
      sr.method = c.method;
      sr.encoded_path = path;
      sr.query = c.query;
      sr.payload_sha256 = payload_hash;
      sr.headers = c.headers;
      sr.headers.emplace_back("host", host_);
      sr.headers.emplace_back("x-amz-date", amz_date);
      sr.headers.emplace_back("x-amz-content-sha256", payload_hash);
      if (!cfg_.credentials.session_token.empty()) {
        sr.headers.emplace_back("x-amz-security-token", cfg_.credentials.session_token);
      }
      req.headers.clear();
      for (const auto& h : sr.headers) {
        if (h.first != "host") req.headers.push_back(h);
      }
      req.headers.emplace_back("Authorization",
                               sigv4::Authorization(sr, cfg_.credentials, amz_date, cfg_.region));
      http::TransportError err;
      if (!client_.Perform(req, &a.resp, &err)) {
        last = err.message;
        last_kind = err.kind;
        if (err.kind == http::TransportError::Kind::kTls) break;  // a retry cannot fix trust
        continue;
      }
      const long s = a.resp.status;
      if (s >= 500 || s == 429) continue;
      if (s == 400 && s3::XmlValue(a.resp.body, "Code") == "RequestTimeout") continue;
      return a;
    }
    if (!last.empty() && a.resp.status == 0) {
      const std::string head = uri_ + ": " + c.what + ": ";
      const std::string tries = " (" + std::to_string(a.attempts) + " attempts)";
      if (last_kind == http::TransportError::Kind::kTls) {
        return Status::Network(head + "TLS with the S3 endpoint " + cfg_.scheme + "://" + host_ +
                               " failed: " + last + tries +
                               "; if the server's certificate is from a private CA, set [s3] "
                               "ca_file (or AWS_CA_BUNDLE) to that CA's PEM file");
      }
      if (last_kind == http::TransportError::Kind::kConnect ||
          last_kind == http::TransportError::Kind::kResolve) {
        return Status::Network(head + "cannot reach the S3 endpoint " + cfg_.scheme + "://" +
                               host_ + ": " + last + tries +
                               "; check [s3] endpoint / AWS_ENDPOINT_URL and that the server runs");
      }
      return Status::Unavailable(head + last + tries + "; the S3 endpoint " + cfg_.scheme + "://" +
                                 host_ +
                                 " keeps failing; try again later or raise [s3] request_timeout_ms "
                                 "/ max_retries");
    }
    // Retries exhausted on a retryable HTTP answer: the caller maps it (Unavailable).
    return a;
  }

  // PutObject, honouring the mode (If-None-Match: * when the store supports it).
  Status PutObject(const std::string& full, std::string_view data, PutMode mode) {
    const std::string what = "PUT " + Rel(full);
    Params headers;
    if (mode == PutMode::kCreateIfAbsent) {
      BL_ASSIGN_OR_RETURN(bool conditional, Probe());
      if (conditional) {
        headers.emplace_back("if-none-match", "*");
      } else {
        BL_RETURN_IF_ERROR(SingleWriterCheck(full, what));
      }
    }
    BL_ASSIGN_OR_RETURN(Answer a, Send({"PUT", full, {}, std::move(headers), data, what}));
    if (a.resp.status == 200) return Status::Ok();
    return Error(what, a.resp);
  }

  // Without conditional writes: refused, or (single_writer) AlreadyExists when the key exists.
  Status SingleWriterCheck(const std::string& full, const std::string& what) {
    if (!options_.single_writer) {
      return Status::NotSupported(uri_ +
                                  ": the store does not honour conditional writes "
                                  "(If-None-Match); set [s3] single_writer = true if only one "
                                  "binlake writes to it");
    }
    auto st = Head(full, what);
    if (st.ok()) {
      return Status::AlreadyExists(uri_ + ": " + what + ": the key already exists");
    }
    if (st.status().code() != StatusCode::kNotFound) return st.status();
    return Status::Ok();
  }

  Result<ObjectInfo> Head(const std::string& full, const std::string& what) const {
    BL_ASSIGN_OR_RETURN(Answer a, Send({"HEAD", full, {}, {}, {}, what}));
    if (a.resp.status != 200) return Error(what, a.resp);
    ObjectInfo info;
    info.key = full;
    const auto& h = a.resp.headers;
    if (auto it = h.find("content-length"); it != h.end()) {
      info.size = std::strtoull(it->second.c_str(), nullptr, 10);
    }
    if (auto it = h.find("last-modified"); it != h.end()) {
      info.mtime_ms = s3::ParseHttpDateMs(it->second);
    }
    return info;
  }

  Result<std::string> ReadRange(const std::string& full, const std::string& key, uint64_t offset,
                                uint64_t length) {
    const std::string what = "GET " + key;
    const auto past_end = [&](uint64_t size) -> Result<std::string> {
      if (offset == size) return std::string();
      return Status::InvalidArgument(uri_ + ": " + what + ": offset " + std::to_string(offset) +
                                     " is past the end of the object (" + std::to_string(size) +
                                     " bytes)");
    };
    if (length == 0) {
      BL_ASSIGN_OR_RETURN(ObjectInfo info, Head(full, what));
      if (offset >= info.size) return past_end(info.size);
      return std::string();
    }
    const uint64_t last = length > UINT64_MAX - offset ? UINT64_MAX : offset + length - 1;
    std::string range = "bytes=" + std::to_string(offset) + "-";
    if (last != UINT64_MAX) range += std::to_string(last);
    BL_ASSIGN_OR_RETURN(Answer a, Send({"GET", full, {}, {{"range", range}}, {}, what}));
    if (a.resp.status == 206) return std::move(a.resp.body);
    if (a.resp.status == 200) {  // the whole object: the server ignored Range
      if (offset > a.resp.body.size()) return past_end(a.resp.body.size());
      return a.resp.body.substr(offset, length);
    }
    if (a.resp.status == 416) {
      BL_ASSIGN_OR_RETURN(ObjectInfo info, Head(full, what));
      return past_end(info.size);
    }
    return Error(what, a.resp);
  }

  // Whether If-None-Match: * is honoured: found once, by writing a probe object twice.
  Result<bool> Probe() const {
    std::lock_guard<std::mutex> lock(probe_mu_);
    if (probed_) return conditional_;
    const std::string full = prefix_ + "_binlake/probe/" + RandomHex(8);
    const std::string what = "conditional-write probe (PUT " + Rel(full) + ")";
    const Params cond = {{"if-none-match", "*"}};
    BL_ASSIGN_OR_RETURN(Answer first, Send({"PUT", full, {}, cond, "probe", what}));
    // The key is random, so a 412 means an earlier attempt's answer was lost (curl itself resends
    // once on a dead reused connection, so `attempts` may not show it): the object is ours.
    const long f = first.resp.status;
    if (f != 200 && f != 412 && f != 409) return Error(what, first.resp);
    BL_ASSIGN_OR_RETURN(Answer second, Send({"PUT", full, {}, cond, "probe", what}));
    const long s = second.resp.status;
    if (s != 200 && s != 412 && s != 409) return Error(what, second.resp);
    BL_ASSIGN_OR_RETURN(Answer del, Send({"DELETE", full, {}, {}, {}, "DELETE " + Rel(full)}));
    (void)del;
    conditional_ = s == 412 || s == 409;
    probed_ = true;
    return conditional_;
  }

 private:
  const std::string uri_;
  const std::string bucket_;
  const std::string prefix_;
  const S3Options options_;
  const AwsConfig cfg_;
  const int list_page_keys_;
  bool path_style_ = true;
  std::string host_;
  mutable http::Client client_;
  mutable std::mutex probe_mu_;
  mutable bool probed_ = false;
  mutable bool conditional_ = false;
};

// Reads in ranged GETs of kReadChunkBytes, so one failed chunk is retried alone.
class S3Reader : public ObjectReader {
 public:
  S3Reader(S3Store* store, std::string full, std::string key, uint64_t size)
      : store_(store), full_(std::move(full)), key_(std::move(key)), size_(size) {}

  Result<size_t> Read(char* buf, size_t n) override {
    if (buf_pos_ == buf_.size()) {
      if (pos_ >= size_) return size_t{0};
      BL_ASSIGN_OR_RETURN(buf_, store_->ReadRange(full_, key_, pos_, kReadChunkBytes));
      buf_pos_ = 0;
      if (buf_.empty()) {
        return Status::Corruption(store_->uri() + ": GET " + key_ + ": the object shrank to " +
                                  std::to_string(pos_) + " bytes while being read (expected " +
                                  std::to_string(size_) + ")");
      }
      pos_ += buf_.size();
    }
    const size_t k = std::min(n, buf_.size() - buf_pos_);
    std::memcpy(buf, buf_.data() + buf_pos_, k);
    buf_pos_ += k;
    return k;
  }
  uint64_t size() const override { return size_; }

 private:
  S3Store* store_;
  std::string full_;
  std::string key_;
  uint64_t size_;
  uint64_t pos_ = 0;  // of the next chunk
  std::string buf_;
  size_t buf_pos_ = 0;
};

Result<std::unique_ptr<ObjectReader>> S3Store::Open(std::string_view key) {
  BL_RETURN_IF_ERROR(ValidateKey(key));
  BL_ASSIGN_OR_RETURN(ObjectInfo info, Head(Full(key), "HEAD " + std::string(key)));
  return std::unique_ptr<ObjectReader>(
      std::make_unique<S3Reader>(this, Full(key), std::string(key), info.size));
}

// Buffers up to part_bytes; a bigger object becomes a multipart upload, aborted unless completed.
class S3Writer : public ObjectWriter {
 public:
  S3Writer(S3Store* store, std::string full, PutMode mode, bool conditional)
      : store_(store), full_(std::move(full)), mode_(mode), conditional_(conditional) {}
  ~S3Writer() override {
    if (!upload_id_.empty() && !done_) Abort();
  }
  S3Writer(const S3Writer&) = delete;
  S3Writer& operator=(const S3Writer&) = delete;

  Status Write(std::string_view data) override {
    if (done_) return Status::InvalidArgument(What("write") + ": the writer is closed");
    BL_RETURN_IF_ERROR(failed_);
    buf_.append(data);
    written_ += data.size();
    const uint64_t part = store_->options().part_bytes;
    while (buf_.size() >= part) {
      Status st = UploadPart(std::string_view(buf_).substr(0, part));
      if (!st.ok()) {
        failed_ = st;
        Abort();
        return st;
      }
      buf_.erase(0, part);
    }
    return Status::Ok();
  }

  Status Close() override {
    if (done_) return Status::InvalidArgument(What("close") + ": the writer is already closed");
    BL_RETURN_IF_ERROR(failed_);
    done_ = true;
    if (upload_id_.empty()) {
      Status st = store_->PutObject(full_, buf_, mode_);
      buf_.clear();
      buf_.shrink_to_fit();
      return st;
    }
    Status st = Complete();
    if (!st.ok()) Abort();
    return st;
  }

  uint64_t bytes_written() const override { return written_; }

 private:
  std::string What(std::string_view op) const {
    return store_->uri() + ": " + std::string(op) + " " + store_->Rel(full_);
  }

  Status UploadPart(std::string_view data) {
    if (upload_id_.empty()) {
      const std::string what = "CreateMultipartUpload " + store_->Rel(full_);
      BL_ASSIGN_OR_RETURN(Answer a, store_->Send({"POST", full_, {{"uploads", ""}}, {}, {}, what}));
      if (a.resp.status != 200) return store_->Error(what, a.resp);
      upload_id_ = s3::XmlValue(a.resp.body, "UploadId");
      if (upload_id_.empty()) {
        return Status::Corruption(store_->uri() + ": " + what + ": the answer has no UploadId");
      }
    }
    const int number = static_cast<int>(etags_.size()) + 1;
    const std::string what = "UploadPart " + std::to_string(number) + " of " + store_->Rel(full_);
    BL_ASSIGN_OR_RETURN(
        Answer a, store_->Send({"PUT",
                                full_,
                                {{"partNumber", std::to_string(number)}, {"uploadId", upload_id_}},
                                {},
                                data,
                                what}));
    if (a.resp.status != 200) return store_->Error(what, a.resp);
    auto it = a.resp.headers.find("etag");
    if (it == a.resp.headers.end()) {
      return Status::Corruption(store_->uri() + ": " + what + ": the answer has no ETag");
    }
    etags_.push_back(it->second);
    return Status::Ok();
  }

  Status Complete() {
    if (!buf_.empty()) {
      BL_RETURN_IF_ERROR(UploadPart(buf_));
      buf_.clear();
      buf_.shrink_to_fit();
    }
    const std::string what = "CompleteMultipartUpload " + store_->Rel(full_);
    Params headers;
    if (mode_ == PutMode::kCreateIfAbsent) {
      if (conditional_) {
        headers.emplace_back("if-none-match", "*");
      } else {
        BL_RETURN_IF_ERROR(store_->SingleWriterCheck(full_, what));
      }
    }
    std::string body = "<CompleteMultipartUpload>";
    for (size_t i = 0; i < etags_.size(); ++i) {
      body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
              s3::XmlEscape(etags_[i]) + "</ETag></Part>";
    }
    body += "</CompleteMultipartUpload>";
    BL_ASSIGN_OR_RETURN(
        Answer a, store_->Send({"POST", full_, {{"uploadId", upload_id_}}, headers, body, what}));
    // S3 may answer 200 and still fail: the error is then in the body.
    if (a.resp.status == 200 && a.resp.body.find("<Error>") == std::string::npos) {
      upload_id_.clear();
      return Status::Ok();
    }
    if (a.resp.status == 200) a.resp.status = 500;
    // A resent Complete whose first attempt succeeded finds the upload gone: check the object.
    if (s3::XmlValue(a.resp.body, "Code") == "NoSuchUpload") {
      auto info = store_->Head(full_, what);
      if (info.ok() && info->size == written_) {
        upload_id_.clear();
        return Status::Ok();
      }
    }
    return store_->Error(what, a.resp);
  }

  void Abort() {
    if (upload_id_.empty()) return;
    const std::string what = "AbortMultipartUpload " + store_->Rel(full_);
    auto a = store_->Send({"DELETE", full_, {{"uploadId", upload_id_}}, {}, {}, what});
    (void)a;  // best effort: a bucket lifecycle rule cleans up what an abort misses
    upload_id_.clear();
  }

  S3Store* store_;
  std::string full_;
  PutMode mode_;
  bool conditional_;
  std::string buf_;
  std::string upload_id_;
  std::vector<std::string> etags_;
  uint64_t written_ = 0;
  bool done_ = false;
  Status failed_;
};

Result<std::unique_ptr<ObjectWriter>> S3Store::Create(std::string_view key, PutMode mode) {
  BL_RETURN_IF_ERROR(ValidateKey(key));
  bool conditional = false;
  if (mode == PutMode::kCreateIfAbsent) {
    BL_ASSIGN_OR_RETURN(conditional, Probe());
    if (!conditional && !options_.single_writer) {
      return Status::NotSupported(uri_ +
                                  ": the store does not honour conditional writes "
                                  "(If-None-Match); set [s3] single_writer = true if only one "
                                  "binlake writes to it");
    }
  }
  return std::unique_ptr<ObjectWriter>(
      std::make_unique<S3Writer>(this, Full(key), mode, conditional));
}

}  // namespace

Result<std::unique_ptr<ObjectStore>> OpenS3Store(StoreUri uri, const S3Options& options,
                                                 const EnvLookup& env, int list_page_keys) {
  if (!uri.prefix.empty() && uri.prefix.back() != '/') uri.prefix.push_back('/');
  const std::string name = "s3://" + uri.bucket + "/" + uri.prefix;
  const std::string shown =
      uri.prefix.empty() ? "s3://" + uri.bucket : name.substr(0, name.size() - 1);
  if (options.part_bytes < kMinPartBytes) {
    return Status::InvalidArgument(shown + ": part size " + std::to_string(options.part_bytes) +
                                   " is below S3's minimum part of 5 MiB; raise it");
  }
  if (options.max_retries < 0) {
    return Status::InvalidArgument(shown + ": max_retries must be >= 0");
  }
  if (list_page_keys < 1 || list_page_keys > 1000) {
    return Status::InvalidArgument(shown + ": the list page size must be 1..1000");
  }
  auto cfg = ResolveAwsConfig(options, env);
  if (!cfg.ok()) return cfg.status().WithContext(shown);
  S3Options o = options;
  if (o.ca_file.empty()) {
    if (auto bundle = env("AWS_CA_BUNDLE"); bundle && !bundle->empty()) o.ca_file = *bundle;
  }
  if (!o.ca_file.empty() && ::access(o.ca_file.c_str(), R_OK) != 0) {
    return Status::InvalidArgument(shown + ": the CA file " + o.ca_file +
                                   " ([s3] ca_file or AWS_CA_BUNDLE) cannot be read; point it at "
                                   "the PEM file of the CA that signed the server's certificate");
  }
  auto store = std::make_unique<S3Store>(shown, uri, o, std::move(cfg).value(), list_page_keys);
  BL_RETURN_IF_ERROR(store->CheckReachable());
  return std::unique_ptr<ObjectStore>(std::move(store));
}

}  // namespace binlake::store
