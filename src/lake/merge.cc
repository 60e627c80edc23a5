// Typed key hashing and the streaming merge of one bucket's old rows with its changes.
#include "lake/merge.h"

#include <bit>
#include <cstring>

namespace binlake::lake {
namespace {

constexpr uint64_t kSeed = 0x2545F4914F6CDD1DULL;
constexpr uint64_t kNullMarker = 0x6E756C6C6B657921ULL;

// MurmurHash3's 64-bit finalizer: every input bit reaches every output bit.
inline uint64_t Fmix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xFF51AFD7ED558CCDULL;
  k ^= k >> 33;
  k *= 0xC4CEB9FE1A85EC53ULL;
  k ^= k >> 33;
  return k;
}

inline uint64_t Mix(uint64_t h, uint64_t v) { return Fmix(h * 0x9E3779B97F4A7C15ULL + v); }

uint64_t HashBytes(std::string_view s) {
  uint64_t h = s.size() * 0x9E3779B97F4A7C15ULL;
  const char* p = s.data();
  size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
    h ^= h >> 32;
  }
  if (n > 0) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
  }
  return Fmix(h);
}

// Calls mix(i, value bits) for each valid row, null(i) for each null one.
template <typename ArrayT, typename Value>
void EachValue(const arrow::Array& array, int64_t n, std::vector<uint64_t>* hashes, Value value) {
  const auto& a = static_cast<const ArrayT&>(array);
  uint64_t* h = hashes->data();
  if (a.null_count() == 0) {
    for (int64_t i = 0; i < n; i++) h[i] = Mix(h[i], value(a, i));
  } else {
    for (int64_t i = 0; i < n; i++) h[i] = Mix(h[i], a.IsNull(i) ? kNullMarker : value(a, i));
  }
}

template <typename ArrayT>
void IntValues(const arrow::Array& array, int64_t n, std::vector<uint64_t>* hashes) {
  EachValue<ArrayT>(array, n, hashes, [](const ArrayT& a, int64_t i) {
    return static_cast<uint64_t>(static_cast<int64_t>(a.Value(i)));
  });
}

template <typename ArrayT>
bool IntEqual(const arrow::Array& a, int64_t i, const arrow::Array& b, int64_t j) {
  return static_cast<const ArrayT&>(a).Value(i) == static_cast<const ArrayT&>(b).Value(j);
}

}  // namespace

Status HashKeys(const KeyColumns& columns, int64_t n, std::vector<uint64_t>* hashes) {
  hashes->assign(static_cast<size_t>(n), kSeed);
  for (const arrow::Array* col : columns) {
    switch (col->type_id()) {
      case arrow::Type::INT8:
        IntValues<arrow::Int8Array>(*col, n, hashes);
        break;
      case arrow::Type::INT16:
        IntValues<arrow::Int16Array>(*col, n, hashes);
        break;
      case arrow::Type::INT32:
        IntValues<arrow::Int32Array>(*col, n, hashes);
        break;
      case arrow::Type::INT64:
        IntValues<arrow::Int64Array>(*col, n, hashes);
        break;
      case arrow::Type::DATE32:
        IntValues<arrow::Date32Array>(*col, n, hashes);
        break;
      case arrow::Type::TIMESTAMP:
        IntValues<arrow::TimestampArray>(*col, n, hashes);
        break;
      case arrow::Type::FLOAT:
        EachValue<arrow::FloatArray>(*col, n, hashes, [](const arrow::FloatArray& a, int64_t i) {
          return uint64_t{std::bit_cast<uint32_t>(a.Value(i))};
        });
        break;
      case arrow::Type::DOUBLE:
        EachValue<arrow::DoubleArray>(*col, n, hashes, [](const arrow::DoubleArray& a, int64_t i) {
          return std::bit_cast<uint64_t>(a.Value(i));
        });
        break;
      case arrow::Type::DECIMAL128:
        EachValue<arrow::Decimal128Array>(*col, n, hashes,
                                          [](const arrow::Decimal128Array& a, int64_t i) {
                                            uint64_t w[2];
                                            std::memcpy(w, a.GetValue(i), 16);
                                            return Fmix(w[0]) ^ w[1];
                                          });
        break;
      case arrow::Type::STRING:
      case arrow::Type::BINARY:
        EachValue<arrow::BinaryArray>(*col, n, hashes, [](const arrow::BinaryArray& a, int64_t i) {
          return HashBytes(a.GetView(i));
        });
        break;
      default:
        return Status::NotSupported("a key column of type " + col->type()->ToString() +
                                    ", which binlake does not write");
    }
  }
  return Status::Ok();
}

bool KeysEqual(const KeyColumns& a, int64_t i, const KeyColumns& b, int64_t j) {
  for (size_t c = 0; c < a.size(); c++) {
    const arrow::Array& x = *a[c];
    const arrow::Array& y = *b[c];
    const bool xn = x.IsNull(i), yn = y.IsNull(j);
    if (xn || yn) {
      if (xn != yn) return false;
      continue;
    }
    bool eq = false;
    switch (x.type_id()) {
      case arrow::Type::INT8:
        eq = IntEqual<arrow::Int8Array>(x, i, y, j);
        break;
      case arrow::Type::INT16:
        eq = IntEqual<arrow::Int16Array>(x, i, y, j);
        break;
      case arrow::Type::INT32:
        eq = IntEqual<arrow::Int32Array>(x, i, y, j);
        break;
      case arrow::Type::INT64:
        eq = IntEqual<arrow::Int64Array>(x, i, y, j);
        break;
      case arrow::Type::DATE32:
        eq = IntEqual<arrow::Date32Array>(x, i, y, j);
        break;
      case arrow::Type::TIMESTAMP:
        eq = IntEqual<arrow::TimestampArray>(x, i, y, j);
        break;
      case arrow::Type::FLOAT:  // by bits: -0 is not 0, a NaN equals the same NaN
        eq = std::bit_cast<uint32_t>(static_cast<const arrow::FloatArray&>(x).Value(i)) ==
             std::bit_cast<uint32_t>(static_cast<const arrow::FloatArray&>(y).Value(j));
        break;
      case arrow::Type::DOUBLE:
        eq = std::bit_cast<uint64_t>(static_cast<const arrow::DoubleArray&>(x).Value(i)) ==
             std::bit_cast<uint64_t>(static_cast<const arrow::DoubleArray&>(y).Value(j));
        break;
      case arrow::Type::DECIMAL128:
        eq = std::memcmp(static_cast<const arrow::Decimal128Array&>(x).GetValue(i),
                         static_cast<const arrow::Decimal128Array&>(y).GetValue(j), 16) == 0;
        break;
      case arrow::Type::STRING:
      case arrow::Type::BINARY:
        eq = static_cast<const arrow::BinaryArray&>(x).GetView(i) ==
             static_cast<const arrow::BinaryArray&>(y).GetView(j);
        break;
      default:
        return false;  // HashKeys refused the type already
    }
    if (!eq) return false;
  }
  return true;
}

Result<std::unique_ptr<BucketMerge>> BucketMerge::Make(std::shared_ptr<arrow::RecordBatch> changes,
                                                       std::vector<char> ops, std::vector<int> key,
                                                       bool has_pk, uint64_t hash_mask) {
  if (static_cast<int64_t>(ops.size()) != changes->num_rows()) {
    return Status::Internal("merge: one op per change row expected");
  }
  std::unique_ptr<BucketMerge> m(new BucketMerge());
  m->changes_ = std::move(changes);
  m->ops_ = std::move(ops);
  m->key_ = std::move(key);
  m->has_pk_ = has_pk;
  m->mask_ = hash_mask;
  for (int c : m->key_) {
    if (c < 0 || c >= m->changes_->num_columns()) return Status::Internal("merge: bad key column");
    m->change_key_arrays_.push_back(m->changes_->column(c));
    m->change_keys_.push_back(m->change_key_arrays_.back().get());
  }
  const int64_t n = m->changes_->num_rows();
  BL_RETURN_IF_ERROR(HashKeys(m->change_keys_, n, &m->hashes_));
  size_t capacity = 16;
  while (capacity < 2 * static_cast<size_t>(n)) capacity *= 2;
  m->slot_hash_.assign(capacity, 0);
  m->slot_key_.assign(capacity, -1);
  m->key_of_.resize(static_cast<size_t>(n));
  std::vector<int64_t> depth;  // pending I/U rows of the key, for the whole-row deficit
  for (int64_t j = 0; j < n; j++) {
    const uint64_t h = m->hashes_[j] & hash_mask;
    size_t s = h & (capacity - 1);
    int32_t kid = -1;
    for (; m->slot_key_[s] >= 0; s = (s + 1) & (capacity - 1)) {
      if (m->slot_hash_[s] == h &&
          KeysEqual(m->change_keys_, j, m->change_keys_, m->key_row_[m->slot_key_[s]])) {
        kid = m->slot_key_[s];
        break;
      }
    }
    if (kid < 0) {
      kid = static_cast<int32_t>(m->key_row_.size());
      m->slot_hash_[s] = h;
      m->slot_key_[s] = kid;
      m->key_row_.push_back(j);
      m->deficit_.push_back(0);
      depth.push_back(0);
    }
    m->key_of_[j] = kid;
    if (m->ops_[j] == 'D') {
      if (depth[kid] > 0) {
        depth[kid]--;
      } else {
        m->deficit_[kid]++;
      }
    } else {
      depth[kid]++;
    }
  }
  m->old_count_.assign(m->key_row_.size(), 0);
  return m;
}

int BucketMerge::Probe(uint64_t hash, const KeyColumns& cols, int64_t row) const {
  const size_t mask = slot_key_.size() - 1;
  for (size_t s = hash & mask; slot_key_[s] >= 0; s = (s + 1) & mask) {
    if (slot_hash_[s] == hash && KeysEqual(cols, row, change_keys_, key_row_[slot_key_[s]])) {
      return slot_key_[s];
    }
  }
  return -1;
}

Status BucketMerge::Filter(const std::shared_ptr<arrow::RecordBatch>& old,
                           std::vector<std::shared_ptr<arrow::RecordBatch>>* kept) {
  KeyColumns cols;
  std::vector<std::shared_ptr<arrow::Array>> holders;
  for (int c : key_) {
    if (c >= old->num_columns() || !old->column(c)->type()->Equals(*changes_->column(c)->type())) {
      return Status::Corruption("a data file's key columns differ from the table schema");
    }
    holders.push_back(old->column(c));
    cols.push_back(holders.back().get());
  }
  const int64_t n = old->num_rows();
  BL_RETURN_IF_ERROR(HashKeys(cols, n, &hashes_));
  int64_t start = 0;  // first row of the run being kept
  for (int64_t i = 0; i < n; i++) {
    const int kid = Probe(hashes_[i] & mask_, cols, i);
    if (kid < 0) continue;
    const int64_t seen = old_count_[kid]++;
    // Without a primary key the first `deficit` identical rows go (any one of equal rows is it).
    if (!has_pk_ && seen >= deficit_[kid]) continue;
    if (i > start) kept->push_back(old->Slice(start, i - start));
    start = i + 1;
    dropped_++;
  }
  if (start == 0) {
    kept->push_back(old);
  } else if (start < n) {
    kept->push_back(old->Slice(start, n - start));
  }
  return Status::Ok();
}

std::string BucketMerge::KeyText(int64_t row) const {
  std::string out;
  for (const arrow::Array* a : change_keys_) {
    if (!out.empty()) out += ", ";
    if (a->IsNull(row)) {
      out += "NULL";
    } else if (a->type_id() == arrow::Type::BINARY) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      for (unsigned char ch : static_cast<const arrow::BinaryArray*>(a)->GetView(row)) {
        out.push_back(kHex[ch >> 4]);
        out.push_back(kHex[ch & 15]);
      }
    } else {
      auto s = a->GetScalar(row);
      out += s.ok() ? (*s)->ToString() : "?";
    }
  }
  return out;
}

Status BucketMerge::Finish(std::vector<std::shared_ptr<arrow::RecordBatch>>* kept,
                           std::vector<std::string>* warnings) {
  const int64_t n = changes_->num_rows();
  std::vector<bool> stays(static_cast<size_t>(n), false);
  if (has_pk_) {
    constexpr int64_t kOld = -2, kNone = -1;
    std::vector<int64_t> cur(key_row_.size());
    for (size_t k = 0; k < cur.size(); k++) cur[k] = old_count_[k] > 0 ? kOld : kNone;
    for (int64_t j = 0; j < n; j++) {
      int64_t& c = cur[key_of_[j]];
      switch (ops_[j]) {
        case 'D':
          if (c == kNone) warnings->push_back("delete of a missing row (key " + KeyText(j) + ")");
          c = kNone;
          break;
        case 'I':
          if (c != kNone) {
            warnings->push_back("insert of an existing key (" + KeyText(j) + "); the new row wins");
          }
          c = j;
          break;
        default:
          if (c == kNone) {
            warnings->push_back("update of a missing key (" + KeyText(j) + "); inserted");
          }
          c = j;
          break;
      }
    }
    for (int64_t j = 0; j < n; j++) stays[j] = cur[key_of_[j]] == j;
  } else {
    std::vector<int64_t> old_left = old_count_;
    std::vector<std::vector<int64_t>> pending(key_row_.size());  // rows added, newest last
    for (int64_t j = 0; j < n; j++) {
      const int32_t k = key_of_[j];
      if (ops_[j] != 'D') {
        pending[k].push_back(j);
        stays[j] = true;
      } else if (!pending[k].empty()) {
        stays[pending[k].back()] = false;
        pending[k].pop_back();
      } else if (old_left[k] > 0) {
        old_left[k]--;
      } else {
        warnings->push_back("delete of a missing row (" + KeyText(j) + ")");
      }
    }
  }
  for (int64_t j = 0; j < n;) {
    if (!stays[j]) {
      j++;
      continue;
    }
    int64_t e = j;
    while (e < n && stays[e]) e++;
    kept->push_back(changes_->Slice(j, e - j));
    j = e;
  }
  return Status::Ok();
}

}  // namespace binlake::lake
