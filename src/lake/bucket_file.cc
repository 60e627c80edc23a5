// A bucket's new data file: Parquet (ZSTD) written batch by batch, fsynced, with its Delta stats.
#include "lake/bucket_file.h"

#include <arrow/array/concatenate.h>
#include <arrow/util/byte_size.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "lake/lake_internal.h"
#include "lake/merge.h"
#include "util/files.h"

namespace binlake::lake {
namespace {

// The bytes of the buffers a batch (or a slice) references.
int64_t BatchBytes(const arrow::RecordBatch& batch) {
  auto bytes = arrow::util::ReferencedBufferSize(batch);
  return bytes.ok() ? *bytes : 0;
}

using json = nlohmann::json;

template <typename ArrayT, typename Fn>
void EachValid(const arrow::Array& array, Fn fn) {
  const auto& a = static_cast<const ArrayT&>(array);
  const bool nulls = a.null_count() > 0;
  for (int64_t i = 0; i < a.length(); i++) {
    if (!nulls || a.IsValid(i)) fn(a.Value(i));
  }
}

}  // namespace

arrow::MemoryPool* LakePool() {
  static arrow::MemoryPool* const pool = [] {
    arrow::MemoryPool* p = nullptr;
    return arrow::jemalloc_memory_pool(&p).ok() ? p : arrow::default_memory_pool();
  }();
  return pool;
}

FileStats::FileStats(std::shared_ptr<arrow::Schema> schema, std::vector<ValueKind> kinds)
    : schema_(std::move(schema)), kinds_(std::move(kinds)), cols_(kinds_.size()) {}

void FileStats::Add(const arrow::RecordBatch& batch) {
  rows_ += batch.num_rows();
  for (int c = 0; c < batch.num_columns() && c < static_cast<int>(cols_.size()); c++) {
    Column& col = cols_[c];
    const arrow::Array& a = *batch.column(c);
    col.nulls += a.null_count();
    auto integer = [&col](int64_t v) {
      if (!col.any) {
        col.ilo = col.ihi = v;
        col.any = true;
      } else if (v < col.ilo) {
        col.ilo = v;
      } else if (v > col.ihi) {
        col.ihi = v;
      }
    };
    auto real = [&col](double v) {
      if (std::isnan(v)) return;
      if (!col.any) {
        col.dlo = col.dhi = v;
        col.any = true;
      } else if (v < col.dlo) {
        col.dlo = v;
      } else if (v > col.dhi) {
        col.dhi = v;
      }
    };
    switch (a.type_id()) {
      case arrow::Type::INT8:
        EachValid<arrow::Int8Array>(a, integer);
        break;
      case arrow::Type::INT16:
        EachValid<arrow::Int16Array>(a, integer);
        break;
      case arrow::Type::INT32:
        EachValid<arrow::Int32Array>(a, integer);
        break;
      case arrow::Type::INT64:
        EachValid<arrow::Int64Array>(a, integer);
        break;
      case arrow::Type::DATE32:
        EachValid<arrow::Date32Array>(a, integer);
        break;
      case arrow::Type::TIMESTAMP:
        EachValid<arrow::TimestampArray>(a, integer);
        break;
      case arrow::Type::FLOAT:
        EachValid<arrow::FloatArray>(a, real);
        break;
      case arrow::Type::DOUBLE:
        EachValid<arrow::DoubleArray>(a, real);
        break;
      case arrow::Type::STRING: {
        const auto& s = static_cast<const arrow::StringArray&>(a);
        for (int64_t i = 0; i < s.length(); i++) {
          if (s.IsNull(i)) continue;
          const std::string_view v = s.GetView(i);
          if (!col.any) {
            col.slo = col.shi = v;
            col.any = true;
          } else if (v < col.slo) {
            col.slo = v;
          } else if (v > col.shi) {
            col.shi = v;
          }
        }
        break;
      }
      default:
        break;  // decimal, binary: no exact JSON form
    }
  }
}

std::string FileStats::Json() const {
  json mins = json::object(), maxs = json::object(), nulls = json::object();
  for (size_t c = 0; c < cols_.size(); c++) {
    const Column& col = cols_[c];
    const std::string& name = schema_->field(static_cast<int>(c))->name();
    nulls[name] = col.nulls;
    if (!col.any) continue;
    switch (schema_->field(static_cast<int>(c))->type()->id()) {
      case arrow::Type::DATE32:
        mins[name] = FormatDate(col.ilo);
        maxs[name] = FormatDate(col.ihi);
        break;
      case arrow::Type::TIMESTAMP: {
        const char* z = kinds_[c] == ValueKind::kTimestamp ? "Z" : "";
        mins[name] = FormatMicros(col.ilo) + z;
        maxs[name] = FormatMicros(col.ihi) + z;
        break;
      }
      case arrow::Type::FLOAT:
      case arrow::Type::DOUBLE:
        mins[name] = col.dlo;
        maxs[name] = col.dhi;
        break;
      case arrow::Type::STRING: {
        // Long strings: a prefix is still a lower bound; an upper bound is omitted.
        const std::string& l = col.slo;
        size_t cut = std::min<size_t>(l.size(), 32);
        while (cut < l.size() && (static_cast<unsigned char>(l[cut]) & 0xC0) == 0x80) cut--;
        mins[name] = l.substr(0, cut);
        if (col.shi.size() <= 32) maxs[name] = col.shi;
        break;
      }
      default:
        mins[name] = col.ilo;
        maxs[name] = col.ihi;
        break;
    }
  }
  return json{{"numRecords", rows_}, {"minValues", mins}, {"maxValues", maxs}, {"nullCount", nulls}}
      .dump();
}

Result<std::unique_ptr<BucketFile>> BucketFile::Create(store::ObjectStore* table, int bucket,
                                                       std::shared_ptr<arrow::Schema> schema,
                                                       std::vector<ValueKind> kinds,
                                                       bool use_threads) {
  char dir[32];
  std::snprintf(dir, sizeof(dir), "bucket=%04d", bucket);
  const std::string rel = std::string(dir) + "/part-" + NewUuid() + ".parquet";
  return std::unique_ptr<BucketFile>(new BucketFile(table, bucket, rel, table->uri() + "/" + rel,
                                                    std::move(schema), std::move(kinds),
                                                    use_threads));
}

Result<std::unique_ptr<BucketFile>> BucketFile::CreateAt(store::ObjectStore* table, std::string rel,
                                                         std::shared_ptr<arrow::Schema> schema,
                                                         std::vector<ValueKind> kinds,
                                                         bool use_threads) {
  std::string path = table->uri() + "/" + rel;
  return std::unique_ptr<BucketFile>(new BucketFile(table, -1, std::move(rel), std::move(path),
                                                    std::move(schema), std::move(kinds),
                                                    use_threads));
}

Status BucketFile::Open(const arrow::RecordBatch& sample) {
  BL_ASSIGN_OR_RETURN(out_, CreateArrowOutput(*store_, rel_));
  parquet::WriterProperties::Builder props;
  props.compression(parquet::Compression::ZSTD)->max_row_group_length(kRowGroupRows);
  // Dictionary encoding pays when values repeat: at most half of the sample distinct.
  const int64_t n = std::min<int64_t>(sample.num_rows(), 8192);
  std::vector<uint64_t> hashes;
  for (int c = 0; c < sample.num_columns(); c++) {
    if (!HashKeys({sample.column(c).get()}, n, &hashes).ok()) continue;
    std::sort(hashes.begin(), hashes.end());
    const auto distinct = std::unique(hashes.begin(), hashes.end()) - hashes.begin();
    if (distinct * 2 > n) props.disable_dictionary(schema_->field(c)->name());
  }
  auto arrow_props =
      parquet::ArrowWriterProperties::Builder().set_use_threads(use_threads_)->build();
  auto writer =
      parquet::arrow::FileWriter::Open(*schema_, LakePool(), out_, props.build(), arrow_props);
  if (!writer.ok()) return Written(writer.status());
  writer_ = std::move(*writer);
  return Status::Ok();
}

BucketFile::~BucketFile() {
  if (!kept_) Discard();
}

Status BucketFile::WriteRowGroup(const std::shared_ptr<arrow::RecordBatch>& batch) {
  if (batch->num_rows() == 0) return Status::Ok();
  if (!writer_) BL_RETURN_IF_ERROR(Open(*batch));
  auto table = arrow::Table::FromRecordBatches({batch});
  if (!table.ok()) return Status::Internal(path_ + ": arrow: " + table.status().ToString());
  BL_RETURN_IF_ERROR(Written(writer_->WriteTable(**table, batch->num_rows())));
  stats_.Add(*batch);
  rows_ += batch->num_rows();
  return Status::Ok();
}

Status BucketFile::Append(const std::shared_ptr<arrow::RecordBatch>& batch) {
  if (batch->num_rows() == 0) return Status::Ok();
  stats_.Add(*batch);
  rows_ += batch->num_rows();
  pending_.push_back(batch);
  pending_rows_ += batch->num_rows();
  pending_bytes_ += BatchBytes(*batch);
  return pending_rows_ >= kAppendRows || pending_bytes_ * 4 >= max_group_bytes_ ? WritePending()
                                                                                : Status::Ok();
}

Status BucketFile::WritePending() {
  if (pending_.empty()) return Status::Ok();
  std::shared_ptr<arrow::RecordBatch> batch = pending_[0];
  if (pending_.size() > 1) {
    arrow::ArrayVector columns;
    for (int c = 0; c < batch->num_columns(); c++) {
      arrow::ArrayVector parts;
      for (const auto& p : pending_) parts.push_back(p->column(c));
      auto joined = arrow::Concatenate(parts, LakePool());
      if (!joined.ok()) return Status::Internal(path_ + ": arrow: " + joined.status().ToString());
      columns.push_back(std::move(*joined));
    }
    batch = arrow::RecordBatch::Make(batch->schema(), pending_rows_, std::move(columns));
  }
  pending_.clear();
  pending_rows_ = 0;
  pending_bytes_ = 0;
  group_bytes_ += BatchBytes(*batch);
  group_.push_back(std::move(batch));
  group_rows_ += group_.back()->num_rows();
  return group_rows_ >= kRowGroupRows || group_bytes_ >= max_group_bytes_ ? WriteGroup()
                                                                          : Status::Ok();
}

Status BucketFile::WriteGroup() {
  if (group_.empty()) return Status::Ok();
  if (!writer_) BL_RETURN_IF_ERROR(Open(*group_[0]));
  auto table = arrow::Table::FromRecordBatches(schema_, group_);
  if (!table.ok()) return Status::Internal(path_ + ": arrow: " + table.status().ToString());
  BL_RETURN_IF_ERROR(Written(writer_->WriteTable(**table, group_rows_)));
  group_.clear();
  group_rows_ = 0;
  group_bytes_ = 0;
  return Status::Ok();
}

Result<std::optional<std::string>> BucketFile::Finish() {
  BL_RETURN_IF_ERROR(WritePending());
  BL_RETURN_IF_ERROR(WriteGroup());
  if (rows_ == 0) {
    Discard();
    return std::optional<std::string>();
  }
  BL_RETURN_IF_ERROR(Written(writer_->Close()));
  auto size = out_->Tell();
  if (!size.ok()) return Status::Internal(path_ + ": " + size.status().ToString());
  bytes_ = *size;
  // Durable (the store fsyncs, or S3 acknowledges) before a log entry names it.
  BL_RETURN_IF_ERROR(Written(out_->Close()));
  published_ = true;
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return std::optional<std::string>(json{
      {"add",
       {{"path", rel_},
        {"partitionValues", json::object()},
        {"size", bytes_},
        {"modificationTime", now},
        {"dataChange", true},
        {"stats", stats_.Json()}}}}.dump());
}

Status BucketFile::Written(const arrow::Status& s) {
  if (s.ok()) return Status::Ok();
  Status store = StoreStreamError(out_.get());
  if (!store.ok()) return Status(store.code(), path_ + ": " + store.message());
  return Check(s, path_);
}

void BucketFile::Discard() {
  if (removed_) return;
  removed_ = true;
  writer_.reset();
  out_.reset();  // an unpublished object is abandoned with its stream
  if (published_) (void)store_->Delete(rel_);
}

}  // namespace binlake::lake
