// Endpoint, region and credentials for S3, resolved once when a store opens.
#include "store/aws_config.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/files.h"

namespace binlake::store {

namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

std::optional<std::string> NonEmpty(const EnvLookup& env, std::string_view name) {
  auto v = env(name);
  if (v && !v->empty()) return v;
  return std::nullopt;
}

std::string HomeFile(const EnvLookup& env, std::string_view var, std::string_view rel) {
  if (auto v = NonEmpty(env, var)) return *v;
  if (auto home = NonEmpty(env, "HOME")) return *home + "/" + std::string(rel);
  return "";
}

// The file's sections; an absent file is empty. Refuses a credentials file others can read.
Result<IniFile> ReadIni(const std::string& path, bool secret) {
  if (path.empty()) return IniFile{};
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return IniFile{};
    return Status::IOError("cannot stat " + path + ": " + std::strerror(errno));
  }
  if (secret && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::InvalidArgument("AWS credentials file " + path + " has mode " + mode +
                                   " (readable by others); run `chmod 600 " + path + "`");
  }
  BL_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return ParseIni(text);
}

std::string KeyHint(const std::string& access_key_id) {
  return " (access key " + access_key_id + ")";
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

EnvLookup MapEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

IniFile ParseIni(std::string_view text) {
  IniFile out;
  std::string section;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = Trim(std::string_view(line).substr(1, line.size() - 2));
      out[section];
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string::npos || section.empty()) continue;
    out[section][Trim(std::string_view(line).substr(0, eq))] =
        Trim(std::string_view(line).substr(eq + 1));
  }
  return out;
}

Result<AwsConfig> ResolveAwsConfig(const S3Options& options, const EnvLookup& env) {
  AwsConfig cfg;
  cfg.profile =
      !options.profile.empty() ? options.profile : NonEmpty(env, "AWS_PROFILE").value_or("default");
  const std::string config_path = HomeFile(env, "AWS_CONFIG_FILE", ".aws/config");
  BL_ASSIGN_OR_RETURN(IniFile config, ReadIni(config_path, /*secret=*/false));
  // The config file names a profile's section "[profile x]", except "[default]".
  const std::string config_section =
      cfg.profile == "default" ? "default" : "profile " + cfg.profile;
  const auto config_value = [&](const std::string& key) -> std::optional<std::string> {
    auto s = config.find(config_section);
    if (s == config.end()) return std::nullopt;
    auto v = s->second.find(key);
    if (v == s->second.end() || v->second.empty()) return std::nullopt;
    return v->second;
  };

  // Credentials.
  auto env_key = NonEmpty(env, "AWS_ACCESS_KEY_ID");
  auto env_secret = NonEmpty(env, "AWS_SECRET_ACCESS_KEY");
  if (env_key && env_secret) {
    cfg.credentials.access_key_id = *env_key;
    cfg.credentials.secret_access_key = *env_secret;
    cfg.credentials.session_token = NonEmpty(env, "AWS_SESSION_TOKEN").value_or("");
    cfg.credentials_source =
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the environment" + KeyHint(*env_key);
  } else if (env_key || env_secret) {
    return Status::InvalidArgument(
        std::string(env_key ? "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
                            : "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not") +
        "; set both, or unset both to use the shared credentials file");
  } else {
    const std::string creds_path = HomeFile(env, "AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
    BL_ASSIGN_OR_RETURN(IniFile creds, ReadIni(creds_path, /*secret=*/true));
    // The credentials file names sections by the bare profile; the config file may hold keys too.
    std::map<std::string, std::string> section;
    if (auto s = config.find(config_section); s != config.end()) section = s->second;
    if (auto s = creds.find(cfg.profile); s != creds.end()) {
      for (const auto& [k, v] : s->second) section[k] = v;
    }
    const std::string key = section.count("aws_access_key_id") ? section["aws_access_key_id"] : "";
    const std::string secret =
        section.count("aws_secret_access_key") ? section["aws_secret_access_key"] : "";
    if (key.empty() || secret.empty()) {
      return Status::InvalidArgument(
          "no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set and profile '" +
          cfg.profile + "' has no aws_access_key_id/aws_secret_access_key in " +
          (creds_path.empty() ? std::string("~/.aws/credentials") : creds_path) +
          "; set them, or name the profile with AWS_PROFILE or [s3] profile");
    }
    cfg.credentials.access_key_id = key;
    cfg.credentials.secret_access_key = secret;
    cfg.credentials.session_token =
        section.count("aws_session_token") ? section["aws_session_token"] : "";
    cfg.credentials_source = "profile '" + cfg.profile + "' in " + creds_path + KeyHint(key);
  }

  // Region.
  if (!options.region.empty()) {
    cfg.region = options.region;
    cfg.region_source = "[s3] region";
  } else if (auto r = NonEmpty(env, "AWS_REGION")) {
    cfg.region = *r;
    cfg.region_source = "AWS_REGION";
  } else if (auto r2 = NonEmpty(env, "AWS_DEFAULT_REGION")) {
    cfg.region = *r2;
    cfg.region_source = "AWS_DEFAULT_REGION";
  } else if (auto r3 = config_value("region")) {
    cfg.region = *r3;
    cfg.region_source = "profile '" + cfg.profile + "' in " + config_path;
  } else {
    cfg.region = "us-east-1";
    cfg.region_source = "the default";
  }

  // Endpoint.
  std::string endpoint = options.endpoint;
  if (endpoint.empty()) endpoint = NonEmpty(env, "AWS_ENDPOINT_URL_S3").value_or("");
  if (endpoint.empty()) endpoint = NonEmpty(env, "AWS_ENDPOINT_URL").value_or("");
  if (endpoint.empty()) {
    cfg.scheme = "https";
    cfg.host = "s3." + cfg.region + ".amazonaws.com";
    return cfg;
  }
  cfg.custom_endpoint = true;
  std::string_view e = endpoint;
  if (e.starts_with("http://")) {
    cfg.scheme = "http";
    e.remove_prefix(7);
  } else if (e.starts_with("https://")) {
    cfg.scheme = "https";
    e.remove_prefix(8);
  } else {
    return Status::InvalidArgument("S3 endpoint '" + endpoint +
                                   "' has no scheme; write http://host:port or https://host");
  }
  while (e.ends_with("/")) e.remove_suffix(1);
  if (e.empty() || e.find('/') != std::string_view::npos || e.find('@') != std::string_view::npos) {
    return Status::InvalidArgument("S3 endpoint '" + endpoint +
                                   "' is not scheme://host[:port]; drop any path or user");
  }
  cfg.host = std::string(e);
  // curl sends the port in Host only when it is not the scheme's default; sign the same.
  if (cfg.scheme == "http" && cfg.host.ends_with(":80")) cfg.host.resize(cfg.host.size() - 3);
  if (cfg.scheme == "https" && cfg.host.ends_with(":443")) cfg.host.resize(cfg.host.size() - 4);
  return cfg;
}

}  // namespace binlake::store
