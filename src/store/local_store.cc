// Local-folder ObjectStore: atomic puts by temp + fsync + rename, create-if-absent by link(2).
#include "store/local_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "util/files.h"

namespace binlake::store {

namespace {

namespace fs = std::filesystem;

Status Errno(const std::string& what, const std::string& path) {
  return Status::IOError(what + " " + path + ": " + std::strerror(errno) +
                         "; check the store folder's permissions and free space");
}

// `.<name>.<digits>.tmp`: what Put writes before the object becomes visible.
bool IsTempName(std::string_view name) {
  return name.size() > 5 && name.front() == '.' && name.ends_with(".tmp");
}

int64_t MtimeMs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

class LocalReader : public ObjectReader {
 public:
  LocalReader(int fd, uint64_t size, std::string path)
      : fd_(fd), size_(size), path_(std::move(path)) {}
  ~LocalReader() override { ::close(fd_); }
  LocalReader(const LocalReader&) = delete;
  LocalReader& operator=(const LocalReader&) = delete;

  Result<size_t> Read(char* buf, size_t n) override {
    while (true) {
      const ssize_t r = ::read(fd_, buf, n);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno != EINTR) return Errno("cannot read", path_);
    }
  }
  uint64_t size() const override { return size_; }

 private:
  int fd_;
  uint64_t size_;
  std::string path_;
};

// Makes `tmp` (written and fsynced) the object at `path`: rename (kOverwrite) or link(2)
// (kCreateIfAbsent), then removes the temporary name and fsyncs the folder.
Status Publish(const std::string& tmp, const std::string& path, PutMode mode) {
  Status st;
  if (mode == PutMode::kOverwrite) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) st = Errno("cannot rename to", path);
  } else if (::link(tmp.c_str(), path.c_str()) != 0) {
    st = errno == EEXIST
             ? Status::AlreadyExists(path + " already exists; another writer created it first")
             : Errno("cannot link to", path);
  }
  // After a rename the temporary name is gone; after a link (or a failure) it is removed.
  (void)::unlink(tmp.c_str());
  BL_RETURN_IF_ERROR(st);
  const std::string dir = path.substr(0, path.rfind('/'));
  return SyncDir(dir);
}

class LocalWriter : public ObjectWriter {
 public:
  LocalWriter(int fd, std::string tmp, std::string path, PutMode mode)
      : fd_(fd), tmp_(std::move(tmp)), path_(std::move(path)), mode_(mode) {}
  ~LocalWriter() override {
    if (fd_ >= 0) ::close(fd_);
    if (!closed_) (void)::unlink(tmp_.c_str());
  }
  LocalWriter(const LocalWriter&) = delete;
  LocalWriter& operator=(const LocalWriter&) = delete;

  Status Write(std::string_view data) override {
    if (closed_) return Status::Internal("write to " + path_ + " after Close");
    BL_RETURN_IF_ERROR(WriteAll(fd_, data, tmp_));
    bytes_ += data.size();
    return Status::Ok();
  }
  Status Close() override {
    if (closed_) return Status::Internal(path_ + " closed twice");
    closed_ = true;
    Status st;
    if (::fsync(fd_) != 0) st = Errno("cannot fsync", tmp_);
    if (::close(fd_) != 0 && st.ok()) st = Errno("cannot close", tmp_);
    fd_ = -1;
    if (!st.ok()) {
      (void)::unlink(tmp_.c_str());
      return st;
    }
    return Publish(tmp_, path_, mode_);
  }
  uint64_t bytes_written() const override { return bytes_; }

 private:
  int fd_;
  std::string tmp_, path_;
  PutMode mode_;
  bool closed_ = false;
  uint64_t bytes_ = 0;
};

class LocalStore : public ObjectStore {
 public:
  explicit LocalStore(std::string root) : root_(std::move(root)) {}

  std::string uri() const override { return root_; }
  bool SupportsCreateIfAbsent() const override { return true; }

  Status Put(std::string_view key, std::string_view data, PutMode mode) override {
    BL_ASSIGN_OR_RETURN(auto writer, Create(key, mode));
    BL_RETURN_IF_ERROR(writer->Write(data));
    return writer->Close();
  }

  Result<std::unique_ptr<ObjectWriter>> Create(std::string_view key, PutMode mode) override {
    BL_RETURN_IF_ERROR(CheckKey(key));
    const std::string path = PathOf(key);
    BL_ASSIGN_OR_RETURN(auto fd_tmp, OpenTemp(path));
    return std::unique_ptr<ObjectWriter>(
        std::make_unique<LocalWriter>(fd_tmp.first, fd_tmp.second, path, mode));
  }

  // Same file system: the file is hard-linked in (no copy), fsynced first; else copied.
  Status PutFile(std::string_view key, const std::string& local_path, PutMode mode) override {
    BL_RETURN_IF_ERROR(CheckKey(key));
    const std::string path = PathOf(key);
    const std::string dir = path.substr(0, path.rfind('/'));
    BL_RETURN_IF_ERROR(MakeDirs(dir));
    const int fd = ::open(local_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Errno("cannot open", local_path);
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!synced) return Errno("cannot fsync", local_path);
    const std::string tmp = TempName(path);
    if (::link(local_path.c_str(), tmp.c_str()) != 0) {
      if (errno == EXDEV || errno == EPERM || errno == EMLINK) {
        return ObjectStore::PutFile(key, local_path, mode);
      }
      return Errno("cannot link " + local_path + " to", tmp);
    }
    return Publish(tmp, path, mode);
  }

  std::string LocalPath(std::string_view key) const override {
    return ValidateKey(key).ok() ? PathOf(key) : "";
  }

  Result<std::string> Get(std::string_view key) override {
    BL_RETURN_IF_ERROR(CheckKey(key));
    return ReadWholeFile(PathOf(key));
  }

  Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) override {
    BL_ASSIGN_OR_RETURN(auto reader, OpenAt(key));
    const std::string path = PathOf(key);
    if (offset > reader.second) {
      ::close(reader.first);
      return Status::InvalidArgument("range start " + std::to_string(offset) +
                                     " is past the end of " + path + " (" +
                                     std::to_string(reader.second) + " bytes)");
    }
    const uint64_t n = std::min(length, reader.second - offset);
    std::string out(n, '\0');
    uint64_t done = 0;
    Status st;
    while (done < n) {
      const ssize_t r =
          ::pread(reader.first, out.data() + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        st = Errno("cannot read", path);
        break;
      }
      if (r == 0) break;  // shrank underneath us: return what is there
      done += static_cast<uint64_t>(r);
    }
    ::close(reader.first);
    BL_RETURN_IF_ERROR(st);
    out.resize(done);
    return out;
  }

  Result<std::unique_ptr<ObjectReader>> Open(std::string_view key) override {
    BL_ASSIGN_OR_RETURN(auto fd_size, OpenAt(key));
    return std::unique_ptr<ObjectReader>(
        std::make_unique<LocalReader>(fd_size.first, fd_size.second, PathOf(key)));
  }

  Result<std::vector<ObjectInfo>> List(const ListOptions& options) override {
    std::vector<ObjectInfo> out;
    // Walk only the deepest folder the prefix pins down.
    const size_t slash = options.prefix.rfind('/');
    const std::string base =
        slash == std::string::npos ? root_ : JoinPath(root_, options.prefix.substr(0, slash));
    std::error_code ec;
    if (!fs::is_directory(base, ec)) return out;
    fs::recursive_directory_iterator it(base, ec), end;
    if (ec) return Status::IOError("cannot list " + base + ": " + ec.message());
    for (; it != end; it.increment(ec)) {
      if (ec) return Status::IOError("cannot list " + base + ": " + ec.message());
      const std::string name = it->path().filename().string();
      if (IsTempName(name)) continue;
      struct stat st {};
      if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      std::string key = it->path().string().substr(root_.size() + 1);
      if (!key.starts_with(options.prefix)) continue;
      if (!options.start_after.empty() && key <= options.start_after) continue;
      out.push_back({std::move(key), static_cast<uint64_t>(st.st_size), MtimeMs(st)});
    }
    std::sort(out.begin(), out.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    if (options.max_keys != 0 && out.size() > options.max_keys) out.resize(options.max_keys);
    return out;
  }

  Status Delete(std::string_view key) override {
    BL_RETURN_IF_ERROR(CheckKey(key));
    return RemoveFile(PathOf(key));
  }

  Result<ObjectInfo> Stat(std::string_view key) override {
    BL_RETURN_IF_ERROR(CheckKey(key));
    const std::string path = PathOf(key);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound(path + " does not exist");
      return Errno("cannot stat", path);
    }
    if (!S_ISREG(st.st_mode)) return Status::NotFound(path + " is a folder, not an object");
    return ObjectInfo{std::string(key), static_cast<uint64_t>(st.st_size), MtimeMs(st)};
  }

 private:
  Status CheckKey(std::string_view key) const {
    BL_RETURN_IF_ERROR(ValidateKey(key));
    const size_t slash = key.rfind('/');
    const std::string_view last = slash == std::string_view::npos ? key : key.substr(slash + 1);
    if (IsTempName(last)) {
      return Status::InvalidArgument("key '" + std::string(key) +
                                     "' looks like a temporary file (.*.tmp); rename it");
    }
    return Status::Ok();
  }
  std::string PathOf(std::string_view key) const { return JoinPath(root_, key); }
  std::string TempName(const std::string& path) {
    const size_t slash = path.rfind('/');
    return path.substr(0, slash + 1) + "." + path.substr(slash + 1) + "." +
           std::to_string(::getpid()) + "-" + std::to_string(counter_.fetch_add(1)) + ".tmp";
  }
  // A new temporary file beside `path` (its folder made first), open for writing.
  Result<std::pair<int, std::string>> OpenTemp(const std::string& path) {
    BL_RETURN_IF_ERROR(MakeDirs(path.substr(0, path.rfind('/'))));
    std::string tmp = TempName(path);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return Errno("cannot create", tmp);
    return std::make_pair(fd, std::move(tmp));
  }

  // An open descriptor and the size of a regular file.
  Result<std::pair<int, uint64_t>> OpenAt(std::string_view key) {
    BL_RETURN_IF_ERROR(CheckKey(key));
    const std::string path = PathOf(key);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound(path + " does not exist");
      return Errno("cannot open", path);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return Status::NotFound(path + " is not a file");
    }
    return std::make_pair(fd, static_cast<uint64_t>(st.st_size));
  }

  std::string root_;
  std::atomic<uint64_t> counter_{0};
};

}  // namespace

Result<std::unique_ptr<ObjectStore>> OpenLocalStore(const std::string& root) {
  if (root.empty() || root.front() != '/') {
    return Status::InvalidArgument("store folder '" + root +
                                   "' is not an absolute path; use /path");
  }
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  BL_RETURN_IF_ERROR(MakeDirs(r));
  return std::unique_ptr<ObjectStore>(std::make_unique<LocalStore>(std::move(r)));
}

}  // namespace binlake::store
