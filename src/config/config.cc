#include "config/config.h"

#include <sys/stat.h>
#include <toml++/toml.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace binlake::config {
namespace {

// Checks that every key of `table` is one we know, so typos are reported instead of ignored.
Status CheckKeys(const toml::table& table, const std::set<std::string>& known,
                 const std::string& where, const std::string& origin) {
  for (const auto& [key, value] : table) {
    if (!known.count(std::string(key.str()))) {
      std::string m = origin;
      m.append(": unknown key '").append(where).append(where.empty() ? "" : ".");
      m.append(key.str()).append("' (see docs/config.md)");
      return Status::InvalidArgument(std::move(m));
    }
  }
  return {};
}

template <typename T>
Status Get(const toml::table& t, const char* key, T* out, const std::string& where,
           const std::string& origin) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  if constexpr (std::is_same_v<T, std::string>) {
    if (auto v = n->value<std::string>()) {
      *out = *v;
      return {};
    }
  } else if constexpr (std::is_same_v<T, bool>) {
    if (auto v = n->value<bool>()) {
      *out = *v;
      return {};
    }
  } else {
    if (auto v = n->value<int64_t>()) {
      if (*v < 0 || static_cast<uint64_t>(*v) > std::numeric_limits<T>::max()) {
        return Status::InvalidArgument(origin + ": " + where + "." + key + " out of range");
      }
      *out = static_cast<T>(*v);
      return {};
    }
  }
  return Status::InvalidArgument(origin + ": " + where + "." + key + " has the wrong type");
}

Status GetStrings(const toml::table& t, const char* key, std::vector<std::string>* out,
                  const std::string& where, const std::string& origin) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  const toml::array* arr = n->as_array();
  if (!arr) {
    return Status::InvalidArgument(origin + ": " + where + "." + key +
                                   " must be a list of strings, e.g. [\"shop.*\"]");
  }
  out->clear();
  for (const auto& item : *arr) {
    auto v = item.value<std::string>();
    if (!v) {
      return Status::InvalidArgument(origin + ": " + where + "." + key + " holds a non-string");
    }
    out->push_back(*v);
  }
  return {};
}

Status ParseCapture(const toml::table& cap, const std::string& origin, CaptureConfig* c) {
  BL_RETURN_IF_ERROR(CheckKeys(cap,
                               {"staging", "spool_dir", "migration_type", "include", "exclude",
                                "csv", "flush", "min_retention_hours", "when_purged"},
                               "capture", origin));
  BL_RETURN_IF_ERROR(Get(cap, "staging", &c->staging, "capture", origin));
  BL_RETURN_IF_ERROR(Get(cap, "spool_dir", &c->spool_dir, "capture", origin));
  if (c->staging.empty()) {
    return Status::InvalidArgument(origin + ": capture.staging is empty; name a folder or a URI");
  }
  // A URI must parse now; a plain path may be relative (to the working directory).
  if (c->staging.find("://") != std::string::npos) {
    BL_RETURN_IF_ERROR(
        store::ParseStoreUri(c->staging).status().WithContext(origin + ": capture.staging"));
  }
  BL_RETURN_IF_ERROR(Get(cap, "migration_type", &c->migration_type, "capture", origin));
  BL_RETURN_IF_ERROR(GetStrings(cap, "include", &c->include, "capture", origin));
  BL_RETURN_IF_ERROR(GetStrings(cap, "exclude", &c->exclude, "capture", origin));
  BL_RETURN_IF_ERROR(Get(cap, "min_retention_hours", &c->min_retention_hours, "capture", origin));
  BL_RETURN_IF_ERROR(Get(cap, "when_purged", &c->when_purged, "capture", origin));
  if (c->when_purged != "fail" && c->when_purged != "resnapshot") {
    return Status::InvalidArgument(origin + ": capture.when_purged '" + c->when_purged +
                                   "' is not one of fail, resnapshot");
  }
  if (c->migration_type != "full-load" && c->migration_type != "cdc" &&
      c->migration_type != "full-load-and-cdc") {
    return Status::InvalidArgument(origin + ": capture.migration_type '" + c->migration_type +
                                   "' is not one of full-load, cdc, full-load-and-cdc");
  }
  if (const toml::table* csv = cap["csv"].as_table()) {
    BL_RETURN_IF_ERROR(CheckKeys(*csv,
                                 {"delimiter", "null_value", "header", "include_op_for_full_load",
                                  "timestamp_column", "cdc_mode", "max_file_size_mb"},
                                 "capture.csv", origin));
    BL_RETURN_IF_ERROR(Get(*csv, "delimiter", &c->delimiter, "capture.csv", origin));
    BL_RETURN_IF_ERROR(Get(*csv, "null_value", &c->null_value, "capture.csv", origin));
    BL_RETURN_IF_ERROR(Get(*csv, "header", &c->header, "capture.csv", origin));
    BL_RETURN_IF_ERROR(
        Get(*csv, "include_op_for_full_load", &c->include_op_for_full_load, "capture.csv", origin));
    BL_RETURN_IF_ERROR(Get(*csv, "timestamp_column", &c->timestamp_column, "capture.csv", origin));
    BL_RETURN_IF_ERROR(Get(*csv, "cdc_mode", &c->cdc_mode, "capture.csv", origin));
    BL_RETURN_IF_ERROR(Get(*csv, "max_file_size_mb", &c->max_file_size_mb, "capture.csv", origin));
    if (c->delimiter.size() != 1 || c->delimiter == "\"" || c->delimiter == "\n" ||
        c->delimiter == "\r") {
      return Status::InvalidArgument(origin +
                                     ": capture.csv.delimiter must be one character other than "
                                     "a quote or a line break");
    }
    if (c->cdc_mode != "all" && c->cdc_mode != "inserts-only" &&
        c->cdc_mode != "inserts-and-updates") {
      return Status::InvalidArgument(origin + ": capture.csv.cdc_mode '" + c->cdc_mode +
                                     "' is not one of all, inserts-only, inserts-and-updates");
    }
  }
  if (const toml::table* fl = cap["flush"].as_table()) {
    BL_RETURN_IF_ERROR(
        CheckKeys(*fl, {"interval_ms", "min_file_size_mb"}, "capture.flush", origin));
    BL_RETURN_IF_ERROR(Get(*fl, "interval_ms", &c->flush_interval_ms, "capture.flush", origin));
    BL_RETURN_IF_ERROR(
        Get(*fl, "min_file_size_mb", &c->flush_min_file_size_mb, "capture.flush", origin));
  }
  return {};
}

// [s3] onto store::S3Options. Credentials are refused: they live in the environment or the
// shared credentials file, never in a config file that gets copied around.
Status ParseS3(const toml::table& t, const std::string& origin, store::S3Options* o) {
  for (const auto& [key, value] : t) {
    const std::string k(key.str());
    if (k.find("secret") != std::string::npos || k.find("access_key") != std::string::npos ||
        k.find("session_token") != std::string::npos || k.find("password") != std::string::npos) {
      return Status::InvalidArgument(
          origin + ": s3." + k +
          ": credentials never go in the config; set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY "
          "in the environment or use the shared credentials file (~/.aws/credentials, s3.profile)");
    }
  }
  BL_RETURN_IF_ERROR(
      CheckKeys(t,
                {"endpoint", "region", "profile", "addressing", "single_writer", "max_retries",
                 "part_size_mb", "connect_timeout_ms", "request_timeout_ms", "ca_file"},
                "s3", origin));
  BL_RETURN_IF_ERROR(Get(t, "endpoint", &o->endpoint, "s3", origin));
  BL_RETURN_IF_ERROR(Get(t, "region", &o->region, "s3", origin));
  BL_RETURN_IF_ERROR(Get(t, "profile", &o->profile, "s3", origin));
  BL_RETURN_IF_ERROR(Get(t, "ca_file", &o->ca_file, "s3", origin));
  std::string addressing = "auto";
  BL_RETURN_IF_ERROR(Get(t, "addressing", &addressing, "s3", origin));
  if (addressing == "auto") {
    o->addressing = store::S3Options::Addressing::kAuto;
  } else if (addressing == "path") {
    o->addressing = store::S3Options::Addressing::kPath;
  } else if (addressing == "virtual") {
    o->addressing = store::S3Options::Addressing::kVirtualHost;
  } else {
    return Status::InvalidArgument(origin + ": s3.addressing '" + addressing +
                                   "' is not one of auto, path, virtual");
  }
  BL_RETURN_IF_ERROR(Get(t, "single_writer", &o->single_writer, "s3", origin));
  uint32_t retries = static_cast<uint32_t>(o->max_retries);
  BL_RETURN_IF_ERROR(Get(t, "max_retries", &retries, "s3", origin));
  uint64_t part_mb = o->part_bytes >> 20;
  BL_RETURN_IF_ERROR(Get(t, "part_size_mb", &part_mb, "s3", origin));
  uint32_t connect_ms = static_cast<uint32_t>(o->connect_timeout_ms);
  uint32_t request_ms = static_cast<uint32_t>(o->request_timeout_ms);
  BL_RETURN_IF_ERROR(Get(t, "connect_timeout_ms", &connect_ms, "s3", origin));
  BL_RETURN_IF_ERROR(Get(t, "request_timeout_ms", &request_ms, "s3", origin));
  if (retries > 100) {
    return Status::InvalidArgument(origin + ": s3.max_retries must be 0..100");
  }
  // S3's multipart limits: parts of 5 MiB .. 5 GiB.
  if (part_mb < 5 || part_mb > 5120) {
    return Status::InvalidArgument(origin + ": s3.part_size_mb must be 5..5120 (S3's part sizes)");
  }
  if (connect_ms == 0 || request_ms == 0 || connect_ms > 3600000 || request_ms > 3600000) {
    return Status::InvalidArgument(origin +
                                   ": s3.connect_timeout_ms and s3.request_timeout_ms must be "
                                   "1..3600000");
  }
  o->max_retries = static_cast<int>(retries);
  o->part_bytes = part_mb << 20;
  o->connect_timeout_ms = static_cast<int>(connect_ms);
  o->request_timeout_ms = static_cast<int>(request_ms);
  return {};
}

// The first line of a secret file, which must not be readable by group or others.
Result<std::string> ReadSecretFile(const std::string& key, const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return Status::InvalidArgument(key + " " + path + " does not exist (create it with mode 0600)");
  }
  if (st.st_mode & 077) {
    return Status::InvalidArgument(key + " " + path +
                                   " is readable by group or others (run: chmod 600 " + path + ")");
  }
  std::ifstream in(path);
  std::string secret;
  std::getline(in, secret);
  if (!in && !in.eof()) return Status::IOError("cannot read " + key + " " + path);
  return secret;
}

}  // namespace

Status ResolvePassword(SourceConfig* s) {
  if (!s->password_file.empty()) {
    BL_ASSIGN_OR_RETURN(s->password, ReadSecretFile("password_file", s->password_file));
    return {};
  }
  if (!s->password_env.empty()) {
    if (const char* v = std::getenv(s->password_env.c_str())) s->password = v;
  }
  return {};
}

Result<Config> ParseConfig(std::string_view text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
       << e.description();
    return Status::InvalidArgument(os.str());
  }
  Config c;
  c.path = origin;
  BL_RETURN_IF_ERROR(
      CheckKeys(root, {"source", "start", "capture", "lake", "s3", "spark", "ops"}, "", origin));
  if (const toml::node* s3 = root.get("s3")) {
    const toml::table* t = s3->as_table();
    if (t == nullptr) return Status::InvalidArgument(origin + ": s3 must be a table ([s3])");
    BL_RETURN_IF_ERROR(ParseS3(*t, origin, &c.store.s3));
  }
  if (const toml::table* src = root["source"].as_table()) {
    BL_RETURN_IF_ERROR(CheckKeys(
        *src,
        {"host", "port", "user", "password_env", "password_file", "server_id", "heartbeat_ms",
         "connect_timeout_s", "read_timeout_s", "max_reconnect_attempts", "tls"},
        "source", origin));
    SourceConfig& s = c.source;
    BL_RETURN_IF_ERROR(Get(*src, "host", &s.host, "source", origin));
    BL_RETURN_IF_ERROR(Get(*src, "port", &s.port, "source", origin));
    BL_RETURN_IF_ERROR(Get(*src, "user", &s.user, "source", origin));
    BL_RETURN_IF_ERROR(Get(*src, "password_env", &s.password_env, "source", origin));
    BL_RETURN_IF_ERROR(Get(*src, "password_file", &s.password_file, "source", origin));
    BL_RETURN_IF_ERROR(Get(*src, "server_id", &s.server_id, "source", origin));
    BL_RETURN_IF_ERROR(Get(*src, "heartbeat_ms", &s.heartbeat_ms, "source", origin));
    BL_RETURN_IF_ERROR(Get(*src, "connect_timeout_s", &s.connect_timeout_s, "source", origin));
    BL_RETURN_IF_ERROR(Get(*src, "read_timeout_s", &s.read_timeout_s, "source", origin));
    BL_RETURN_IF_ERROR(
        Get(*src, "max_reconnect_attempts", &s.max_reconnect_attempts, "source", origin));
    if (const toml::table* tls = (*src)["tls"].as_table()) {
      BL_RETURN_IF_ERROR(CheckKeys(*tls, {"enabled", "ca", "cert", "key", "verify_server_cert"},
                                   "source.tls", origin));
      BL_RETURN_IF_ERROR(Get(*tls, "enabled", &s.tls.enabled, "source.tls", origin));
      BL_RETURN_IF_ERROR(Get(*tls, "ca", &s.tls.ca, "source.tls", origin));
      BL_RETURN_IF_ERROR(Get(*tls, "cert", &s.tls.cert, "source.tls", origin));
      BL_RETURN_IF_ERROR(Get(*tls, "key", &s.tls.key, "source.tls", origin));
      BL_RETURN_IF_ERROR(
          Get(*tls, "verify_server_cert", &s.tls.verify_server_cert, "source.tls", origin));
    }
    if (s.server_id == 0) {
      return Status::InvalidArgument(origin +
                                     ": source.server_id must be set to a non-zero id "
                                     "unique among the source's replicas");
    }
  } else {
    return Status::InvalidArgument(origin + ": missing [source] table (host, port, user, ...)");
  }
  if (const toml::table* st = root["start"].as_table()) {
    BL_RETURN_IF_ERROR(CheckKeys(*st, {"binlog_file", "binlog_pos", "gtid"}, "start", origin));
    BL_RETURN_IF_ERROR(Get(*st, "binlog_file", &c.start.binlog_file, "start", origin));
    BL_RETURN_IF_ERROR(Get(*st, "binlog_pos", &c.start.binlog_pos, "start", origin));
    BL_RETURN_IF_ERROR(Get(*st, "gtid", &c.start.gtid, "start", origin));
  }
  if (const toml::table* cap = root["capture"].as_table()) {
    BL_RETURN_IF_ERROR(ParseCapture(*cap, origin, &c.capture));
  }
  if (const toml::table* lk = root["lake"].as_table()) {
    BL_RETURN_IF_ERROR(
        CheckKeys(*lk,
                  {"path", "buckets", "no_primary_key", "dropped_columns", "trigger_poll_ms",
                   "trigger_parallelism", "format", "checkpoint_interval", "log_retention_versions",
                   "notify_listen", "notify_token_file", "runner", "memory_mb", "spill_dir"},
                  "lake", origin));
    BL_RETURN_IF_ERROR(Get(*lk, "runner", &c.lake.runner, "lake", origin));
    if (c.lake.runner != "builtin" && c.lake.runner != "spark") {
      return Status::InvalidArgument(origin + ": lake.runner '" + c.lake.runner +
                                     "' is not one of builtin, spark");
    }
    BL_RETURN_IF_ERROR(Get(*lk, "notify_listen", &c.lake.notify_listen, "lake", origin));
    BL_RETURN_IF_ERROR(Get(*lk, "notify_token_file", &c.lake.notify_token_file, "lake", origin));
    if (!c.lake.notify_token_file.empty()) {
      BL_ASSIGN_OR_RETURN(c.lake.notify_token,
                          ReadSecretFile("lake.notify_token_file", c.lake.notify_token_file));
    }
    BL_RETURN_IF_ERROR(Get(*lk, "path", &c.lake.path, "lake", origin));
    BL_RETURN_IF_ERROR(Get(*lk, "buckets", &c.lake.buckets, "lake", origin));
    BL_RETURN_IF_ERROR(Get(*lk, "no_primary_key", &c.lake.no_primary_key, "lake", origin));
    BL_RETURN_IF_ERROR(Get(*lk, "dropped_columns", &c.lake.dropped_columns, "lake", origin));
    BL_RETURN_IF_ERROR(Get(*lk, "trigger_poll_ms", &c.lake.trigger_poll_ms, "lake", origin));
    BL_RETURN_IF_ERROR(
        Get(*lk, "trigger_parallelism", &c.lake.trigger_parallelism, "lake", origin));
    BL_RETURN_IF_ERROR(Get(*lk, "format", &c.lake.format, "lake", origin));
    BL_RETURN_IF_ERROR(
        Get(*lk, "checkpoint_interval", &c.lake.checkpoint_interval, "lake", origin));
    BL_RETURN_IF_ERROR(
        Get(*lk, "log_retention_versions", &c.lake.log_retention_versions, "lake", origin));
    BL_RETURN_IF_ERROR(Get(*lk, "memory_mb", &c.lake.memory_mb, "lake", origin));
    BL_RETURN_IF_ERROR(Get(*lk, "spill_dir", &c.lake.spill_dir, "lake", origin));
    if (c.lake.memory_mb < 64 || c.lake.memory_mb > 1048576) {
      return Status::InvalidArgument(origin + ": lake.memory_mb must be 64..1048576 (MiB)");
    }
    if (c.lake.format != "delta" && c.lake.format != "csv") {
      return Status::InvalidArgument(origin + ": lake.format '" + c.lake.format +
                                     "' is not one of delta, csv");
    }
    if (c.lake.checkpoint_interval > 1000000 || c.lake.log_retention_versions > 1000000000) {
      return Status::InvalidArgument(origin +
                                     ": lake.checkpoint_interval or "
                                     "lake.log_retention_versions out of range");
    }
    if (lk->contains("buckets") && (c.lake.buckets < 1 || c.lake.buckets > 65536)) {
      return Status::InvalidArgument(origin + ": lake.buckets must be 1..65536");
    }
    if (c.lake.no_primary_key != "whole-row" && c.lake.no_primary_key != "reject") {
      return Status::InvalidArgument(origin + ": lake.no_primary_key must be whole-row or reject");
    }
    if (c.lake.dropped_columns != "keep" && c.lake.dropped_columns != "drop") {
      return Status::InvalidArgument(origin + ": lake.dropped_columns must be keep or drop");
    }
  }
  if (const toml::table* sp = root["spark"].as_table()) {
    BL_RETURN_IF_ERROR(
        CheckKeys(*sp, {"submit", "job", "args", "staging", "lake", "max_files"}, "spark", origin));
    BL_RETURN_IF_ERROR(Get(*sp, "submit", &c.spark.submit, "spark", origin));
    BL_RETURN_IF_ERROR(Get(*sp, "job", &c.spark.job, "spark", origin));
    BL_RETURN_IF_ERROR(GetStrings(*sp, "args", &c.spark.args, "spark", origin));
    BL_RETURN_IF_ERROR(Get(*sp, "staging", &c.spark.staging, "spark", origin));
    BL_RETURN_IF_ERROR(Get(*sp, "lake", &c.spark.lake, "spark", origin));
    BL_RETURN_IF_ERROR(Get(*sp, "max_files", &c.spark.max_files, "spark", origin));
    if (c.spark.max_files < 1) {
      return Status::InvalidArgument(origin + ": spark.max_files must be at least 1");
    }
  }
  if (const toml::node* ops = root.get("ops")) {
    const toml::table* t = ops->as_table();
    if (t == nullptr) return Status::InvalidArgument(origin + ": ops must be a table ([ops])");
    BL_RETURN_IF_ERROR(CheckKeys(*t, {"enabled", "listen"}, "ops", origin));
    BL_RETURN_IF_ERROR(Get(*t, "enabled", &c.ops.enabled, "ops", origin));
    BL_RETURN_IF_ERROR(Get(*t, "listen", &c.ops.listen, "ops", origin));
    if (c.ops.listen.rfind(':') == std::string::npos || c.ops.listen.back() == ':') {
      return Status::InvalidArgument(origin + ": ops.listen '" + c.ops.listen +
                                     "' is not host:port (e.g. \"127.0.0.1:7070\")");
    }
  }
  BL_RETURN_IF_ERROR(ResolvePassword(&c.source));
  return c;
}

Result<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot open config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseConfig(ss.str(), path);
}

}  // namespace binlake::config
