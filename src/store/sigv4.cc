// SigV4 as in the AWS docs ("Signature Calculations for the Authorization Header"): headers are
// lowercased, trimmed and sorted; the query is encoded then sorted; the key is derived per day.
#include "store/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace binlake::store::sigv4 {

namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Trims and collapses runs of spaces, as the canonical header value requires.
std::string TrimValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> SortedHeaders(const Request& r) {
  std::vector<std::pair<std::string, std::string>> h;
  h.reserve(r.headers.size());
  for (const auto& [k, v] : r.headers) h.emplace_back(Lower(k), TrimValue(v));
  std::sort(h.begin(), h.end());
  return h;
}

std::string SignedHeaders(const std::vector<std::pair<std::string, std::string>>& sorted) {
  std::string out;
  for (const auto& [k, v] : sorted) {
    if (!out.empty()) out.push_back(';');
    out += k;
  }
  return out;
}

std::string Scope(std::string_view amz_date, std::string_view region, std::string_view service) {
  std::string s(amz_date.substr(0, 8));
  s += '/';
  s += region;
  s += '/';
  s += service;
  s += "/aws4_request";
  return s;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return Hex(md, len);
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 15]);
    }
  }
  return out;
}

std::string AmzDate(int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> q;
  q.reserve(query.size());
  for (const auto& [k, v] : query) q.emplace_back(UriEncode(k, false), UriEncode(v, false));
  std::sort(q.begin(), q.end());
  std::string out;
  for (const auto& [k, v] : q) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

std::string CanonicalRequest(const Request& r) {
  const auto headers = SortedHeaders(r);
  std::string out = r.method + "\n" + r.encoded_path + "\n" + CanonicalQuery(r.query) + "\n";
  for (const auto& [k, v] : headers) out += k + ":" + v + "\n";
  out += "\n" + SignedHeaders(headers) + "\n" + r.payload_sha256;
  return out;
}

std::string StringToSign(const Request& r, std::string_view amz_date, std::string_view region,
                         std::string_view service) {
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + Scope(amz_date, region, service) +
         "\n" + Sha256Hex(CanonicalRequest(r));
}

std::string Authorization(const Request& r, const Credentials& c, std::string_view amz_date,
                          std::string_view region, std::string_view service) {
  std::string key = HmacSha256("AWS4" + c.secret_access_key, amz_date.substr(0, 8));
  key = HmacSha256(key, region);
  key = HmacSha256(key, service);
  key = HmacSha256(key, "aws4_request");
  const std::string sig = HmacSha256(key, StringToSign(r, amz_date, region, service));
  const std::string sig_hex = Hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
  return "AWS4-HMAC-SHA256 Credential=" + c.access_key_id + "/" + Scope(amz_date, region, service) +
         ",SignedHeaders=" + SignedHeaders(SortedHeaders(r)) + ",Signature=" + sig_hex;
}

}  // namespace binlake::store::sigv4
