// The merge of one bucket (docs/lake.md "Apply"): the old rows stream past the bucket's changes,
// and only an old row whose typed key hash is among the changes' keys is compared (not a public
// API; apply.cc and the tests use it).
#pragma once

#include <arrow/api.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/status.h"

namespace binlake::lake {

// The key columns of a batch, as the merge reads them.
using KeyColumns = std::vector<const arrow::Array*>;

// Mixes the key of rows [0, n) of `columns` into `hashes` (resized to n): integers, dates and
// timestamps by value, floats by bits, decimals and strings/binaries by bytes, null by a marker.
// NotSupported for a type the lake does not write.
Status HashKeys(const KeyColumns& columns, int64_t n, std::vector<uint64_t>* hashes);
// Whether row `i` of `a` and row `j` of `b` hold equal keys (columns of equal types; nulls equal
// each other; floats by bits).
bool KeysEqual(const KeyColumns& a, int64_t i, const KeyColumns& b, int64_t j);

// The merge of one bucket: Filter every old batch in file order, then Finish.
//
// With a primary key the last change of a key decides (I: the row, an existing key is replaced
// with a warning; U: the row, a missing key is inserted with a warning; D: removed, a missing row
// is a warning) and every old row of a changed key is dropped. Without one, a row is its whole
// value, kept as a multiset: I and U add a row, D removes one identical row (the latest change row,
// else an old one), a missing row is a warning.
class BucketMerge {
 public:
  // `changes`: the bucket's change rows in file order, `ops` their I/U/D; `key`: the key column
  // indexes (every column without a primary key). `hash_mask` narrows the hash: tests use it to
  // force collisions.
  static Result<std::unique_ptr<BucketMerge>> Make(std::shared_ptr<arrow::RecordBatch> changes,
                                                   std::vector<char> ops, std::vector<int> key,
                                                   bool has_pk, uint64_t hash_mask = ~uint64_t{0});

  // Appends the rows of `old` that stay, as zero-copy slices in their order.
  Status Filter(const std::shared_ptr<arrow::RecordBatch>& old,
                std::vector<std::shared_ptr<arrow::RecordBatch>>* kept);
  // After the last old batch: appends the change rows that remain (zero-copy slices, file order)
  // and the merge's warnings (missing rows, existing keys; file order).
  Status Finish(std::vector<std::shared_ptr<arrow::RecordBatch>>* kept,
                std::vector<std::string>* warnings);

  int64_t old_rows_dropped() const { return dropped_; }

 private:
  BucketMerge() = default;
  int Probe(uint64_t hash, const KeyColumns& cols, int64_t row) const;
  std::string KeyText(int64_t row) const;

  std::shared_ptr<arrow::RecordBatch> changes_;
  std::vector<char> ops_;
  std::vector<int> key_;
  bool has_pk_ = true;
  uint64_t mask_ = ~uint64_t{0};
  KeyColumns change_keys_;
  // Open addressing over the distinct change keys: slot -> (hash, key id); -1 is empty.
  std::vector<uint64_t> slot_hash_;
  std::vector<int32_t> slot_key_;
  std::vector<int32_t> key_of_;     // change row -> key id
  std::vector<int64_t> key_row_;    // key id -> its first change row
  std::vector<int64_t> old_count_;  // key id -> old rows seen with that key
  std::vector<int64_t> deficit_;    // key id -> D's not met by an earlier I/U (whole-row identity)
  std::vector<uint64_t> hashes_;    // scratch
  std::vector<std::shared_ptr<arrow::Array>> change_key_arrays_;
  int64_t dropped_ = 0;
};

}  // namespace binlake::lake
