// Where the S3 backend gets its endpoint, region and credentials (internal): S3Options, then the
// environment, then the shared config and credentials files, as the AWS CLI does.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "store/sigv4.h"
#include "store/store.h"
#include "util/status.h"

namespace binlake::store {

// Reads an environment variable; injectable so tests need not touch the process environment.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
EnvLookup ProcessEnv();
EnvLookup MapEnv(std::map<std::string, std::string> vars);

struct AwsConfig {
  sigv4::Credentials credentials;
  // Where the credentials came from, for messages: "AWS_ACCESS_KEY_ID (access key AKIA...)" or
  // "profile binlake in /x/credentials (access key AKIA...)". Never holds the secret.
  std::string credentials_source;
  std::string region;
  std::string region_source;  // "S3Options", "AWS_REGION", "profile x in FILE", "default"
  std::string scheme;         // "https" / "http"
  std::string host;           // "s3.us-east-1.amazonaws.com" or "127.0.0.1:9400"
  bool custom_endpoint = false;
  std::string profile;
};

// Credentials: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), else the profile
// (S3Options::profile, AWS_PROFILE, "default") in AWS_SHARED_CREDENTIALS_FILE or
// ~/.aws/credentials; that file must be mode 0600 or stricter. Region: S3Options::region,
// AWS_REGION, AWS_DEFAULT_REGION, the profile's in AWS_CONFIG_FILE or ~/.aws/config ("[profile
// x]", "[default]"), us-east-1. Endpoint: S3Options::endpoint, AWS_ENDPOINT_URL_S3,
// AWS_ENDPOINT_URL, https://s3.<region>.amazonaws.com.
Result<AwsConfig> ResolveAwsConfig(const S3Options& options, const EnvLookup& env);

// The sections of an INI file (AWS shared config format): section -> key -> value.
using IniFile = std::map<std::string, std::map<std::string, std::string>>;
IniFile ParseIni(std::string_view text);

}  // namespace binlake::store
