// AWS Signature Version 4 for S3 requests (internal to the S3 backend): canonical request, string
// to sign, signing key, Authorization header. OpenSSL does the hashing; nothing here logs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace binlake::store::sigv4 {

std::string Sha256Hex(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
// SigV4 URI encoding: every byte but A-Z a-z 0-9 - . _ ~ as %XX (upper hex); '/' kept when
// `keep_slash` (object key paths), encoded otherwise (query names and values).
std::string UriEncode(std::string_view s, bool keep_slash);
// "20130524T000000Z" for a UNIX time.
std::string AmzDate(int64_t unix_seconds);

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // "" unless temporary credentials
};

struct Request {
  std::string method;        // "GET"
  std::string encoded_path;  // "/bucket/key" already URI-encoded, '/' kept
  std::vector<std::pair<std::string, std::string>> query;    // raw (unencoded) names and values
  std::vector<std::pair<std::string, std::string>> headers;  // every header to sign, incl. host,
                                                             // x-amz-date, x-amz-content-sha256
  std::string payload_sha256;                                // hex, as sent in x-amz-content-sha256
};

std::string CanonicalRequest(const Request& r);
std::string StringToSign(const Request& r, std::string_view amz_date, std::string_view region,
                         std::string_view service);
// The value of the Authorization header. `amz_date` must equal the request's x-amz-date.
std::string Authorization(const Request& r, const Credentials& c, std::string_view amz_date,
                          std::string_view region, std::string_view service = "s3");
// The encoded query string in canonical order ("a=1&b=x%2Fy"), to put in the URL as signed.
std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query);

}  // namespace binlake::store::sigv4
