// POSIX file I/O for the staging store; every error names the path.
#include "util/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

namespace binlake {

namespace {

constexpr size_t kBufferSize = size_t{64} * 1024;

Status Errno(const std::string& what, const std::string& path) {
  return Status::IOError(what + " " + path + ": " + std::strerror(errno) +
                         "; check the folder's permissions and free space");
}

int OpenNew(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kFileMode);
  // Exactly 0640 whatever the umask.
  if (fd >= 0) (void)::fchmod(fd, kFileMode);
  return fd;
}

}  // namespace

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

std::string JoinPath(std::string_view a, std::string_view b) {
  std::string out(a);
  if (!out.empty() && out.back() != '/') out.push_back('/');
  out.append(b);
  return out;
}

Status MakeDirs(const std::string& path) {
  std::string cur;
  size_t i = 0;
  while (i <= path.size()) {
    const size_t slash = path.find('/', i);
    const size_t end = slash == std::string::npos ? path.size() : slash;
    cur = path.substr(0, end);
    if (!cur.empty() && ::mkdir(cur.c_str(), kDirMode) != 0 && errno != EEXIST) {
      return Errno("cannot create directory", cur);
    }
    if (slash == std::string::npos) break;
    i = slash + 1;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::IOError(path + " is not a directory; point the staging root at a directory");
  }
  return Status::Ok();
}

Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open directory", dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("cannot fsync directory", dir);
  return Status::Ok();
}

Status WriteFileAtomic(const std::string& dir, const std::string& name, std::string_view content) {
  const std::string tmp = JoinPath(dir, "." + name + ".tmp");
  const std::string final_path = JoinPath(dir, name);
  const int fd = OpenNew(tmp);
  if (fd < 0) return Errno("cannot create", tmp);
  Status st = WriteAll(fd, content, tmp);
  if (st.ok() && ::fsync(fd) != 0) st = Errno("cannot fsync", tmp);
  if (::close(fd) != 0 && st.ok()) st = Errno("cannot close", tmp);
  if (st.ok()) st = RenameFile(tmp, final_path);
  if (!st.ok()) {
    (void)::unlink(tmp.c_str());
    return st;
  }
  return SyncDir(dir);
}

Result<std::string> ReadWholeFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + " does not exist");
    return Errno("cannot open", path);
  }
  std::string out;
  std::vector<char> buf(kBufferSize);
  while (true) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      Status st = Errno("cannot read", path);
      ::close(fd);
      return st;
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("cannot delete", path);
  return Status::Ok();
}

Status RenameFile(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return Errno("cannot rename to " + to + ":", from);
  return Status::Ok();
}

Result<int> RemoveTempFiles(const std::string& root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> doomed;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 5 && name.front() == '.' && name.ends_with(".tmp") &&
        it->is_regular_file(ec)) {
      doomed.push_back(it->path());
    }
  }
  if (ec) {
    return Status::IOError("cannot scan " + root + " for leftover temporary files: " +
                           ec.message() + "; check the staging directory's permissions");
  }
  for (const fs::path& p : doomed) BL_RETURN_IF_ERROR(RemoveFile(p.string()));
  return static_cast<int>(doomed.size());
}

Result<std::unique_ptr<AppendFile>> AppendFile::Create(const std::string& path) {
  const int fd = OpenNew(path);
  if (fd < 0) return Errno("cannot create", path);
  return std::unique_ptr<AppendFile>(new AppendFile(fd, path));
}

AppendFile::~AppendFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status AppendFile::Append(std::string_view data) {
  size_ += data.size();
  if (buf_.size() + data.size() > kBufferSize) {
    BL_RETURN_IF_ERROR(WriteBuffer());
    if (data.size() >= kBufferSize) return WriteAll(fd_, data, path_);
  }
  buf_.append(data);
  return Status::Ok();
}

Status AppendFile::WriteBuffer() {
  if (buf_.empty()) return Status::Ok();
  BL_RETURN_IF_ERROR(WriteAll(fd_, buf_, path_));
  buf_.clear();
  return Status::Ok();
}

Status AppendFile::Sync() {
  BL_RETURN_IF_ERROR(WriteBuffer());
  if (::fsync(fd_) != 0) return Errno("cannot fsync", path_);
  return Status::Ok();
}

Status AppendFile::Close(bool sync) {
  if (fd_ < 0) return Status::Ok();
  Status st = sync ? Sync() : WriteBuffer();
  if (::close(fd_) != 0 && st.ok()) st = Errno("cannot close", path_);
  fd_ = -1;
  return st;
}

}  // namespace binlake
