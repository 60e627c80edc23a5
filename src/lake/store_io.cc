// Arrow input and output streams over an ObjectStore (lake data files, checkpoints).
#include <arrow/io/file.h>
#include <arrow/io/memory.h>
#include <parquet/arrow/reader.h>
#include <sys/stat.h>

#include "lake/lake_internal.h"

namespace binlake::lake {
namespace {

class StoreOutputStream : public arrow::io::OutputStream {
 public:
  StoreOutputStream(std::unique_ptr<store::ObjectWriter> writer, std::string where)
      : writer_(std::move(writer)), where_(std::move(where)) {}

  arrow::Status Close() override {
    if (closed_) return arrow::Status::OK();
    closed_ = true;
    return Remember(writer_->Close());
  }
  bool closed() const override { return closed_; }
  arrow::Result<int64_t> Tell() const override {
    return static_cast<int64_t>(writer_->bytes_written());
  }
  const Status& error() const { return error_; }
  arrow::Status Write(const void* data, int64_t nbytes) override {
    if (closed_) return arrow::Status::Invalid(where_ + " is closed");
    return Remember(writer_->Write(
        std::string_view(static_cast<const char*>(data), static_cast<size_t>(nbytes))));
  }

 private:
  // The first failure is kept: Parquet's writer may hand it up without the status detail.
  arrow::Status Remember(const Status& s) {
    if (!s.ok() && error_.ok()) error_ = s;
    return ToArrow(s);
  }
  std::unique_ptr<store::ObjectWriter> writer_;
  std::string where_;
  bool closed_ = false;
  Status error_;
};

std::string Where(store::ObjectStore& s, const std::string& key) { return s.uri() + "/" + key; }

}  // namespace

Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenArrowInput(store::ObjectStore& s,
                                                                    const std::string& key) {
  const std::string local = s.LocalPath(key);
  if (!local.empty()) {
    auto in = arrow::io::ReadableFile::Open(local);
    if (!in.ok()) {
      struct stat st {};
      if (stat(local.c_str(), &st) != 0) {
        return Status::NotFound(local +
                                " does not exist, but the Delta log names it: restore it from a "
                                "backup, or reload the table with a new full load");
      }
      return Status::IOError("cannot open " + local + ": " + in.status().ToString());
    }
    return std::shared_ptr<arrow::io::RandomAccessFile>(*in);
  }
  BL_ASSIGN_OR_RETURN(std::string bytes, s.Get(key));
  auto owned = arrow::Buffer::FromString(std::move(bytes));
  return std::shared_ptr<arrow::io::RandomAccessFile>(
      std::make_shared<arrow::io::BufferReader>(std::move(owned)));
}

Status StoreStreamError(const arrow::io::OutputStream* out) {
  const auto* s = dynamic_cast<const StoreOutputStream*>(out);
  return s != nullptr ? s->error() : Status::Ok();
}

Result<std::shared_ptr<arrow::io::OutputStream>> CreateArrowOutput(store::ObjectStore& s,
                                                                   const std::string& key) {
  BL_ASSIGN_OR_RETURN(auto writer, s.Create(key));
  return std::shared_ptr<arrow::io::OutputStream>(
      std::make_shared<StoreOutputStream>(std::move(writer), Where(s, key)));
}

Result<std::shared_ptr<arrow::Table>> ReadParquet(store::ObjectStore& s, const std::string& key) {
  const std::string where = Where(s, key);
  BL_ASSIGN_OR_RETURN(auto in, OpenArrowInput(s, key));
  auto reader = parquet::arrow::OpenFile(in, arrow::default_memory_pool());
  if (!reader.ok()) return Status::Corruption(where + ": " + reader.status().ToString());
  auto table = (*reader)->ReadTable();
  if (!table.ok()) return Status::Corruption(where + ": " + table.status().ToString());
  return *table;
}

Result<std::shared_ptr<store::ObjectStore>> OpenTableStore(const std::string& uri,
                                                           const store::StoreOptions& options) {
  BL_ASSIGN_OR_RETURN(auto parsed, store::ParseStoreUri(uri));
  if (parsed.kind == store::StoreUri::Kind::kLocal) {
    struct stat st {};
    if (stat(parsed.path.c_str(), &st) != 0) return std::shared_ptr<store::ObjectStore>();
  }
  BL_ASSIGN_OR_RETURN(auto s, store::OpenStore(uri, options));
  return std::shared_ptr<store::ObjectStore>(std::move(s));
}

}  // namespace binlake::lake
