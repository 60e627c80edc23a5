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

}  // namespace

Status ResolvePassword(SourceConfig* s) {
  if (!s->password_file.empty()) {
    struct stat st;
    if (stat(s->password_file.c_str(), &st) != 0) {
      return Status::InvalidArgument("password_file " + s->password_file +
                                     " does not exist (create it with mode 0600)");
    }
    if (st.st_mode & 077) {
      return Status::InvalidArgument("password_file " + s->password_file +
                                     " is readable by group or others (run: chmod 600 " +
                                     s->password_file + ")");
    }
    std::ifstream in(s->password_file);
    std::string pw;
    std::getline(in, pw);
    if (!in && !in.eof()) return Status::IOError("cannot read password_file " + s->password_file);
    s->password = pw;
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
  BL_RETURN_IF_ERROR(CheckKeys(root, {"source", "start"}, "", origin));
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
