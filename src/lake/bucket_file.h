// One new data file of a bucket, written batch by batch (not a public API; apply.cc uses it).
#pragma once

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <parquet/arrow/writer.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lake/lake.h"
#include "util/status.h"

namespace binlake::lake {

// The memory pool of the apply's Arrow data: jemalloc when Arrow has it (it reuses freed pages;
// the default mimalloc returns them and faults them in again, ~15% more CPU on a full load).
arrow::MemoryPool* LakePool();

// Rows per Parquet row group of a merged file (a full load's row groups are its flushes).
inline constexpr int64_t kRowGroupRows = int64_t{1} << 20;
// Rows gathered from a merge's slices before they are written into the row group.
inline constexpr int64_t kAppendRows = int64_t{64} * 1024;
// Bytes of Arrow data per row group of a merged file unless set_max_group_bytes (wide rows cut
// a row group before kRowGroupRows: the group is held in memory until written).
inline constexpr int64_t kRowGroupBytes = int64_t{128} << 20;

// The Delta stats of a data file (docs/lake.md), gathered batch by batch: numRecords, nullCount,
// min/max of integer, float, date, timestamp and string columns (none for decimal, binary).
class FileStats {
 public:
  FileStats(std::shared_ptr<arrow::Schema> schema, std::vector<ValueKind> kinds);
  void Add(const arrow::RecordBatch& batch);
  std::string Json() const;

 private:
  struct Column {
    int64_t nulls = 0;
    bool any = false;
    int64_t ilo = 0, ihi = 0;
    double dlo = 0, dhi = 0;
    std::string slo, shi;
  };
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<ValueKind> kinds_;
  std::vector<Column> cols_;
  int64_t rows_ = 0;
};

// `<table>/bucket=NNNN/part-<uuid>.parquet` (or CreateAt's path), ZSTD. The writer opens with the
// first batch, which chooses the encodings: dictionary only for a column whose sample repeats
// values (a dictionary of unique values makes the file bigger and the write slower). Removed when
// destroyed unless Keep() was called (after the commit that names it).
class BucketFile {
 public:
  // `use_threads`: encode the columns of a row group in parallel (Arrow's CPU pool); only for a
  // caller that is not itself one of many parallel writers.
  // `table`: the table's store (outlives the file).
  static Result<std::unique_ptr<BucketFile>> Create(store::ObjectStore* table, int bucket,
                                                    std::shared_ptr<arrow::Schema> schema,
                                                    std::vector<ValueKind> kinds, bool use_threads);
  // The same writer for a file at `rel` in the table (bucket() is -1): the rows that stay of
  // other engines' files (apply.cc's foreign pass).
  static Result<std::unique_ptr<BucketFile>> CreateAt(store::ObjectStore* table, std::string rel,
                                                      std::shared_ptr<arrow::Schema> schema,
                                                      std::vector<ValueKind> kinds,
                                                      bool use_threads);
  ~BucketFile();
  BucketFile(const BucketFile&) = delete;
  BucketFile& operator=(const BucketFile&) = delete;

  // The batch as one row group of its own (a full load's flush).
  Status WriteRowGroup(const std::shared_ptr<arrow::RecordBatch>& batch);
  // The batch appended to the buffered row group, cut at kRowGroupRows or max_group_bytes (a
  // merge's slices: they are gathered into batches of kAppendRows first, a write per slice costs
  // too much).
  Status Append(const std::shared_ptr<arrow::RecordBatch>& batch);
  // The Arrow bytes an Append row group holds at most (the apply's memory budget).
  void set_max_group_bytes(int64_t bytes) { max_group_bytes_ = std::max<int64_t>(bytes, 1 << 20); }
  // Closes and fsyncs the file; returns its Delta `add` action, or nullopt when it holds no rows
  // (then the file is removed).
  Result<std::optional<std::string>> Finish();
  // The commit naming the file won: keep it.
  void Keep() { kept_ = true; }
  // Removes the file (a failed or lost commit never names it).
  void Discard();

  int bucket() const { return bucket_; }
  int64_t rows() const { return rows_; }
  int64_t bytes() const { return bytes_; }

 private:
  BucketFile(store::ObjectStore* store, int bucket, std::string rel, std::string path,
             std::shared_ptr<arrow::Schema> schema, std::vector<ValueKind> kinds, bool use_threads)
      : store_(store),
        bucket_(bucket),
        rel_(std::move(rel)),
        path_(std::move(path)),
        schema_(schema),
        use_threads_(use_threads),
        stats_(std::move(schema), std::move(kinds)) {}
  Status Open(const arrow::RecordBatch& sample);
  Status WritePending();
  Status WriteGroup();
  // An Arrow write's status, with the store's own failure (and code) when it caused it.
  Status Written(const arrow::Status& s);

  store::ObjectStore* store_;
  int bucket_;
  std::string rel_, path_;  // key in the table; its URI (messages)
  std::shared_ptr<arrow::Schema> schema_;
  bool use_threads_;
  std::vector<std::shared_ptr<arrow::RecordBatch>> pending_;  // slices, gathered in one batch
  int64_t pending_rows_ = 0, pending_bytes_ = 0;
  std::vector<std::shared_ptr<arrow::RecordBatch>> group_;  // the next row group
  int64_t group_rows_ = 0, group_bytes_ = 0;
  int64_t max_group_bytes_ = kRowGroupBytes;
  std::shared_ptr<arrow::io::OutputStream> out_;
  std::unique_ptr<parquet::arrow::FileWriter> writer_;
  FileStats stats_;
  int64_t rows_ = 0, bytes_ = 0;
  bool kept_ = false, removed_ = false, published_ = false;
};

}  // namespace binlake::lake
