// Local-file primitives (staging, the local store): a visible file is always whole (temp, fsync,
// rename).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace binlake {

inline constexpr unsigned kFileMode = 0640;
inline constexpr unsigned kDirMode = 0750;

std::string JoinPath(std::string_view a, std::string_view b);
Status MakeDirs(const std::string& path);
Status SyncDir(const std::string& dir);
// Writes all of `data` to `fd` (EINTR and short writes handled); `path` names it in errors.
Status WriteAll(int fd, std::string_view data, const std::string& path);
// `dir/.name.tmp`, written, fsynced, renamed to `dir/name`, then `dir` fsynced.
Status WriteFileAtomic(const std::string& dir, const std::string& name, std::string_view content);
Result<std::string> ReadWholeFile(const std::string& path);  // NotFound when absent
Status RemoveFile(const std::string& path);                  // ok when absent
Status RenameFile(const std::string& from, const std::string& to);
// Removes every `.*.tmp` file under `root` (leftovers of a crash); returns how many.
Result<int> RemoveTempFiles(const std::string& root);

// A new file (mode 0640) written through a small buffer, so memory stays bounded.
class AppendFile {
 public:
  static Result<std::unique_ptr<AppendFile>> Create(const std::string& path);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  Status Append(std::string_view data);
  Status Sync();  // writes the buffer and fsyncs
  // Writes the buffer, fsyncs unless `sync` is false (a file whose consumer syncs it), closes.
  Status Close(bool sync = true);
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  AppendFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Status WriteBuffer();
  int fd_;
  std::string path_;
  std::string buf_;
  uint64_t size_ = 0;
};

}  // namespace binlake
