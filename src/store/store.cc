// Store URIs and keys: which backend a URI names, and what a valid key is.
#include "store/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "store/aws_config.h"
#include "store/fault_store.h"
#include "store/local_store.h"
#include "store/s3_store.h"

namespace binlake::store {

Result<StoreUri> ParseStoreUri(std::string_view uri) {
  StoreUri out;
  if (uri.starts_with("s3://")) {
    std::string_view rest = uri.substr(5);
    const size_t slash = rest.find('/');
    out.kind = StoreUri::Kind::kS3;
    out.bucket = std::string(rest.substr(0, slash));
    if (slash != std::string_view::npos) out.prefix = std::string(rest.substr(slash + 1));
    if (out.bucket.empty()) {
      return Status::InvalidArgument("store URI '" + std::string(uri) +
                                     "' has no bucket; write s3://bucket/prefix");
    }
    if (!out.prefix.empty() && out.prefix.back() != '/') out.prefix.push_back('/');
    if (!out.prefix.empty()) {
      BL_RETURN_IF_ERROR(ValidateKey(std::string_view(out.prefix).substr(0, out.prefix.size() - 1))
                             .WithContext("store URI '" + std::string(uri) + "'"));
    }
    return out;
  }
  std::string_view path = uri;
  if (uri.starts_with("file://")) {
    path = uri.substr(7);
    if (!path.starts_with("/")) {
      return Status::InvalidArgument("store URI '" + std::string(uri) +
                                     "' is not file:///absolute/path; write three slashes");
    }
  } else if (uri.find("://") != std::string_view::npos) {
    return Status::InvalidArgument(
        "store URI '" + std::string(uri) +
        "' has an unknown scheme; use /path, file:///path or s3://bucket/prefix");
  }
  if (!path.starts_with("/")) {
    return Status::InvalidArgument(
        "store path '" + std::string(uri) +
        "' is not absolute; use /path, file:///path or s3://bucket/prefix");
  }
  out.kind = StoreUri::Kind::kLocal;
  out.path = std::string(path);
  return out;
}

Status ValidateKey(std::string_view key) {
  const auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("object key '" + std::string(key) + "' " + std::string(why));
  };
  if (key.empty()) return bad("is empty; name the object");
  if (key.front() == '/') return bad("starts with '/'; keys are relative to the store");
  if (key.back() == '/') return bad("ends with '/'; name an object, not a folder");
  if (key.find('\0') != std::string_view::npos) return bad("contains a NUL byte");
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    const std::string_view seg = key.substr(start, end - start);
    if (seg.empty()) return bad("has an empty segment ('//')");
    if (seg == "." || seg == "..") return bad("has a '.' or '..' segment");
    start = end + 1;
  }
  return Status::Ok();
}

Status ObjectStore::PutFile(std::string_view key, const std::string& local_path, PutMode mode) {
  const int fd = ::open(local_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::IOError("cannot open " + local_path + ": " + std::strerror(errno));
  }
  auto writer = Create(key, mode);
  if (!writer.ok()) {
    ::close(fd);
    return writer.status();
  }
  std::string buf(size_t{1} << 20, '\0');
  Status st;
  while (st.ok()) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      st = Status::IOError("cannot read " + local_path + ": " + std::strerror(errno));
      break;
    }
    if (n == 0) break;
    st = (*writer)->Write(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  ::close(fd);
  BL_RETURN_IF_ERROR(st);
  return (*writer)->Close();
}

Result<std::unique_ptr<ObjectStore>> OpenStore(std::string_view uri, const StoreOptions& options) {
  BL_ASSIGN_OR_RETURN(StoreUri parsed, ParseStoreUri(uri));
  std::unique_ptr<ObjectStore> store;
  if (parsed.kind == StoreUri::Kind::kLocal) {
    BL_ASSIGN_OR_RETURN(store, OpenLocalStore(parsed.path));
  } else {
    BL_ASSIGN_OR_RETURN(store, OpenS3Store(parsed, options.s3));
  }
  // Test hook (docs/s3.md): a store that fails operations at random.
  const char* faults = std::getenv("BINLAKE_STORE_FAULTS");
  if (faults != nullptr && faults[0] != '\0') {
    BL_ASSIGN_OR_RETURN(FaultOptions fo, ParseFaultSpec(faults));
    store = WrapWithFaults(std::move(store), fo);
  }
  return store;
}

}  // namespace binlake::store
