// The data files a Delta log names, as binlake opens them: log paths percent-decoded to store
// keys, binlake's own bucket files told from other engines' files, and batches of any writer
// aligned to the table's Arrow schema (docs/lake.md "Files written by other engines").
#include <arrow/compute/cast.h>

#include <cstdio>

#include "lake/bucket_file.h"
#include "lake/lake.h"

namespace binlake::lake {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsTimestamp(const arrow::DataType& t) { return t.id() == arrow::Type::TIMESTAMP; }

// The column as `to`. A timestamp's time zone is only a label here (Delta stores UTC instants;
// Spark's INT96 reads back without one), so it is replaced, not converted.
Result<std::shared_ptr<arrow::Array>> ToType(const std::shared_ptr<arrow::Array>& a,
                                             const std::shared_ptr<arrow::DataType>& to) {
  if (a->type()->Equals(*to)) return a;
  arrow::compute::ExecContext ctx(LakePool());
  std::shared_ptr<arrow::Array> from = a;
  if (IsTimestamp(*a->type()) && IsTimestamp(*to)) {
    const auto& src = static_cast<const arrow::TimestampType&>(*a->type());
    const auto& dst = static_cast<const arrow::TimestampType&>(*to);
    if (src.unit() != dst.unit()) {
      auto cast = arrow::compute::Cast(*a, arrow::timestamp(dst.unit(), src.timezone()),
                                       arrow::compute::CastOptions::Safe(), &ctx);
      if (!cast.ok()) return Status::Corruption(cast.status().ToString());
      from = *cast;
    }
    auto data = from->data()->Copy();
    data->type = to;
    return arrow::MakeArray(data);
  }
  auto cast = arrow::compute::Cast(*from, to, arrow::compute::CastOptions::Safe(), &ctx);
  if (!cast.ok()) return Status::Corruption(cast.status().ToString());
  return *cast;
}

}  // namespace

Result<std::string> DataFileKey(const std::string& log_path) {
  const size_t colon = log_path.find(':');
  if (log_path.empty() || log_path[0] == '/' ||
      (colon != std::string::npos && colon < log_path.find('/'))) {
    return Status::NotSupported("the Delta log names the data file " + log_path +
                                " by an absolute URI; binlake reads paths relative to the table");
  }
  std::string key;
  key.reserve(log_path.size());
  for (size_t i = 0; i < log_path.size(); i++) {
    if (log_path[i] != '%') {
      key.push_back(log_path[i]);
      continue;
    }
    const int hi = i + 2 < log_path.size() ? HexDigit(log_path[i + 1]) : -1;
    const int lo = hi >= 0 ? HexDigit(log_path[i + 2]) : -1;
    if (lo < 0) return Status::Corruption("bad percent escape in the data file path " + log_path);
    key.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return key;
}

int BucketOfDataFile(const std::string& key, int buckets) {
  int b = -1;
  char slash = 0;
  if (std::sscanf(key.c_str(), "bucket=%d%c", &b, &slash) != 2 || slash != '/' || b < 0 ||
      b >= buckets) {
    return -1;
  }
  return b;
}

Result<std::shared_ptr<arrow::RecordBatch>> AlignBatch(
    const std::shared_ptr<arrow::RecordBatch>& batch, const std::shared_ptr<arrow::Schema>& table,
    const std::string& file, const std::vector<std::string>* sources,
    const std::vector<std::shared_ptr<arrow::Scalar>>* fills) {
  const arrow::Schema& have = *batch->schema();
  arrow::ArrayVector columns;
  columns.reserve(static_cast<size_t>(table->num_fields()));
  for (int i = 0; i < table->num_fields(); i++) {
    const auto& want = table->field(i);
    const std::string& name = sources ? (*sources)[static_cast<size_t>(i)] : want->name();
    if (sources && name.empty()) {
      const auto* fill = fills ? (*fills)[static_cast<size_t>(i)].get() : nullptr;
      auto nulls = fill ? arrow::MakeArrayFromScalar(*fill, batch->num_rows(), LakePool())
                        : arrow::MakeArrayOfNull(want->type(), batch->num_rows(), LakePool());
      if (!nulls.ok()) return Status::Internal(file + ": " + nulls.status().ToString());
      columns.push_back(std::move(*nulls));
      continue;
    }
    int at = i < have.num_fields() && have.field(i)->name() == name ? i : have.GetFieldIndex(name);
    if (at < 0) {
      return Status::Corruption(file + " has no column " + name +
                                " (or more than one of that name)");
    }
    auto col = ToType(batch->column(at), want->type());
    if (!col.ok()) {
      return Status::Corruption(file + " column " + want->name() + ": " +
                                have.field(at)->type()->ToString() + " cannot be read as " +
                                want->type()->ToString() + " (" + col.status().message() + ")");
    }
    columns.push_back(std::move(*col));
  }
  return arrow::RecordBatch::Make(table, batch->num_rows(), std::move(columns));
}

}  // namespace binlake::lake
