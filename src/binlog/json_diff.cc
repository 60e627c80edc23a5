// MySQL 8 partial JSON updates: applies binlog JSON diffs to the before-image.
#include "binlog/json_diff.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <utility>

#include "binlog/json_binary.h"
#include "binlog/value.h"
#include "util/byte_reader.h"

namespace binlake::binlog {
namespace {

// MySQL's JSON_DOCUMENT_MAX_DEPTH; json_binary enforces the same limit.
constexpr int kMaxDepth = 100;

Status Truncated(const char* what) {
  return Status::Corruption(std::string("truncated partial JSON diff (") + what + ")");
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void SkipSpace(std::string_view s, size_t* pos) {
  while (*pos < s.size() && IsSpace(s[*pos])) ++*pos;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ReadHex4(std::string_view s, size_t* pos, uint32_t* v) {
  if (s.size() - *pos < 4) return false;
  uint32_t x = 0;
  for (int i = 0; i < 4; i++) {
    int d = HexDigit(s[*pos + i]);
    if (d < 0) return false;
    x = (x << 4) | static_cast<uint32_t>(d);
  }
  *pos += 4;
  *v = x;
  return true;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// A JSON string literal at s[*pos] (the opening quote), unescaped into `out`.
bool ParseString(std::string_view s, size_t* pos, std::string* out) {
  out->clear();
  if (*pos >= s.size() || s[*pos] != '"') return false;
  size_t p = *pos + 1;
  while (p < s.size()) {
    char c = s[p++];
    if (c == '"') {
      *pos = p;
      return true;
    }
    if (static_cast<unsigned char>(c) < 0x20) return false;
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (p >= s.size()) return false;
    char e = s[p++];
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out->push_back(e);
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'u': {
        uint32_t cp;
        if (!ReadHex4(s, &p, &cp)) return false;
        if (cp >= 0xdc00 && cp <= 0xdfff) return false;
        if (cp >= 0xd800 && cp <= 0xdbff) {
          uint32_t lo;
          if (s.size() - p < 2 || s[p] != '\\' || s[p + 1] != 'u') return false;
          p += 2;
          if (!ReadHex4(s, &p, &lo) || lo < 0xdc00 || lo > 0xdfff) return false;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        AppendUtf8(cp, out);
        break;
      }
      default:
        return false;
    }
  }
  return false;
}

// A JSON document whose scalars keep their printed text, so untouched values print byte-identical.
struct Node {
  enum Kind : uint8_t { kScalar, kObject, kArray };
  Kind kind = kScalar;
  std::string scalar;                 // kScalar: the literal as printed
  std::vector<std::string> keys;      // kObject: unescaped keys, in MySQL binary order
  std::vector<std::string> raw_keys;  // kObject: keys as printed (quotes included)
  std::vector<Node> children;         // kObject: values parallel to keys; kArray: elements
};

// MySQL binary JSON orders object keys by length, then bytewise.
bool KeyLess(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return a.size() < b.size();
  return std::memcmp(a.data(), b.data(), a.size()) < 0;
}

class TextParser {
 public:
  explicit TextParser(std::string_view s) : s_(s) {}

  bool Parse(Node* out) {
    if (!ParseValue(out, 0)) return false;
    SkipSpace(s_, &pos_);
    return pos_ == s_.size();
  }

 private:
  bool ParseValue(Node* n, int depth) {
    SkipSpace(s_, &pos_);
    if (pos_ >= s_.size()) return false;
    char c = s_[pos_];
    if (c == '{' || c == '[') {
      if (depth + 1 > kMaxDepth) return false;
      bool object = c == '{';
      n->kind = object ? Node::kObject : Node::kArray;
      pos_++;
      SkipSpace(s_, &pos_);
      if (pos_ < s_.size() && s_[pos_] == (object ? '}' : ']')) {
        pos_++;
        return true;
      }
      while (true) {
        if (object) {
          SkipSpace(s_, &pos_);
          size_t start = pos_;
          std::string key;
          if (!ParseString(s_, &pos_, &key)) return false;
          n->keys.push_back(std::move(key));
          n->raw_keys.emplace_back(s_.substr(start, pos_ - start));
          SkipSpace(s_, &pos_);
          if (pos_ >= s_.size() || s_[pos_] != ':') return false;
          pos_++;
        }
        n->children.emplace_back();
        if (!ParseValue(&n->children.back(), depth + 1)) return false;
        SkipSpace(s_, &pos_);
        if (pos_ >= s_.size()) return false;
        if (s_[pos_] == ',') {
          pos_++;
          continue;
        }
        if (s_[pos_] != (object ? '}' : ']')) return false;
        pos_++;
        return true;
      }
    }
    size_t start = pos_;
    if (c == '"') {
      std::string unused;
      if (!ParseString(s_, &pos_, &unused)) return false;
    } else {
      while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) ||
                                  s_[pos_] == '-' || s_[pos_] == '+' || s_[pos_] == '.')) {
        pos_++;
      }
      if (pos_ == start) return false;
    }
    n->kind = Node::kScalar;
    n->scalar.assign(s_.substr(start, pos_ - start));
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

void Print(const Node& n, std::string* out) {
  if (n.kind == Node::kScalar) {
    out->append(n.scalar);
    return;
  }
  bool object = n.kind == Node::kObject;
  out->push_back(object ? '{' : '[');
  for (size_t i = 0; i < n.children.size(); i++) {
    if (i > 0) out->append(", ");
    if (object) {
      out->append(n.raw_keys[i]);
      out->append(": ");
    }
    Print(n.children[i], out);
  }
  out->push_back(object ? '}' : ']');
}

int Depth(const Node& n) {
  int d = 0;
  for (const Node& c : n.children) d = std::max(d, Depth(c));
  return n.kind == Node::kScalar ? 0 : d + 1;
}

struct Leg {
  bool member = false;
  std::string key;        // member
  uint64_t index = 0;     // array cell
  bool from_end = false;  // [last] / [last-N]
};

bool ParseIndex(std::string_view s, size_t* pos, uint64_t* v) {
  size_t start = *pos;
  uint64_t x = 0;
  while (*pos < s.size() && s[*pos] >= '0' && s[*pos] <= '9') {
    uint64_t d = static_cast<uint64_t>(s[*pos] - '0');
    if (x > (UINT64_MAX - d) / 10) return false;
    x = x * 10 + d;
    ++*pos;
  }
  *v = x;
  return *pos > start;
}

// The path text the server logged: `$` then `.key`, `."quoted key"`, `[n]`, `[last-n]` legs.
bool ParsePath(std::string_view s, std::vector<Leg>* legs) {
  size_t pos = 0;
  SkipSpace(s, &pos);
  if (pos >= s.size() || s[pos] != '$') return false;
  pos++;
  while (true) {
    SkipSpace(s, &pos);
    if (pos >= s.size()) return true;
    if (legs->size() >= static_cast<size_t>(kMaxDepth)) return false;
    Leg leg;
    if (s[pos] == '.') {
      pos++;
      SkipSpace(s, &pos);
      leg.member = true;
      if (pos < s.size() && s[pos] == '"') {
        if (!ParseString(s, &pos, &leg.key)) return false;
      } else {
        size_t start = pos;
        while (pos < s.size() && s[pos] != '.' && s[pos] != '[' && s[pos] != '*' && s[pos] != '"' &&
               !IsSpace(s[pos])) {
          pos++;
        }
        if (pos == start) return false;  // also rejects the `.*` wildcard
        leg.key.assign(s.substr(start, pos - start));
      }
    } else if (s[pos] == '[') {
      pos++;
      SkipSpace(s, &pos);
      if (s.substr(pos, 4) == "last") {
        pos += 4;
        leg.from_end = true;
        SkipSpace(s, &pos);
        if (pos < s.size() && s[pos] == '-') {
          pos++;
          SkipSpace(s, &pos);
          if (!ParseIndex(s, &pos, &leg.index)) return false;
        }
      } else if (!ParseIndex(s, &pos, &leg.index)) {
        return false;  // also rejects `[*]`
      }
      SkipSpace(s, &pos);
      if (pos >= s.size() || s[pos] != ']') return false;  // also rejects ranges `[a to b]`
      pos++;
    } else {
      return false;
    }
    legs->push_back(std::move(leg));
  }
}

// Json_array_index: the position a cell leg names in an array of `size`, and whether it exists.
size_t CellPosition(const Leg& leg, size_t size, bool* within) {
  *within = leg.index < size;
  if (leg.from_end) return *within ? size - 1 - static_cast<size_t>(leg.index) : 0;
  return static_cast<size_t>(std::min<uint64_t>(leg.index, size));
}

// Index of member `key` in `n`, or keys.size().
size_t FindMember(const Node& n, std::string_view key) {
  for (size_t i = 0; i < n.keys.size(); i++) {
    if (n.keys[i] == key) return i;
  }
  return n.keys.size();
}

const char* OpName(JsonDiffOp op) {
  switch (op) {
    case JsonDiffOp::kReplace:
      return "REPLACE";
    case JsonDiffOp::kInsert:
      return "INSERT";
    case JsonDiffOp::kRemove:
      return "REMOVE";
  }
  return "?";
}

// Follows MySQL's apply_json_diffs: exact seek to the parent, then the operation on the last leg.
Status ApplyOne(const JsonDiff& diff, Node* root) {
  auto mismatch = [&](const char* why) {
    return Status::Corruption(std::string("partial JSON diff ") + OpName(diff.op) + " at path '" +
                              diff.path + "' does not fit the before-image: " + why);
  };
  std::vector<Leg> legs;
  if (!ParsePath(diff.path, &legs)) {
    return Status::Corruption("partial JSON diff has an invalid or unsupported path '" + diff.path +
                              "'");
  }
  if (legs.empty()) return mismatch("the server never logs a diff of the root");
  Node value;
  if (diff.op != JsonDiffOp::kRemove && !TextParser(diff.value).Parse(&value)) {
    return Status::Corruption("partial JSON diff value at path '" + diff.path +
                              "' is not valid JSON");
  }
  Node* parent = root;
  for (size_t i = 0; i + 1 < legs.size(); i++) {
    const Leg& leg = legs[i];
    if (parent->kind == Node::kArray && !leg.member) {
      bool within;
      size_t p = CellPosition(leg, parent->children.size(), &within);
      if (!within) return mismatch("array index out of range");
      parent = &parent->children[p];
    } else if (parent->kind == Node::kObject && leg.member) {
      size_t m = FindMember(*parent, leg.key);
      if (m == parent->keys.size()) return mismatch("missing member");
      parent = &parent->children[m];
    } else {
      return mismatch("path leg does not match the value type");
    }
  }
  const Leg& last = legs.back();
  std::vector<Node>& kids = parent->children;
  if (parent->kind == Node::kObject && last.member) {
    size_t m = FindMember(*parent, last.key);
    bool exists = m < parent->keys.size();
    switch (diff.op) {
      case JsonDiffOp::kReplace:
        if (!exists) return mismatch("missing member");
        kids[m] = std::move(value);
        return Status::Ok();
      case JsonDiffOp::kInsert: {
        if (exists) return mismatch("member already exists");
        auto at = std::lower_bound(
            parent->keys.begin(), parent->keys.end(), last.key,
            [](const std::string& a, const std::string& b) { return KeyLess(a, b); });
        auto idx = at - parent->keys.begin();
        std::string raw;
        AppendJsonString(last.key, &raw);
        parent->keys.insert(at, last.key);
        parent->raw_keys.insert(parent->raw_keys.begin() + idx, std::move(raw));
        kids.insert(kids.begin() + idx, std::move(value));
        return Status::Ok();
      }
      case JsonDiffOp::kRemove:
        if (!exists) return mismatch("missing member");
        parent->keys.erase(parent->keys.begin() + static_cast<std::ptrdiff_t>(m));
        parent->raw_keys.erase(parent->raw_keys.begin() + static_cast<std::ptrdiff_t>(m));
        kids.erase(kids.begin() + static_cast<std::ptrdiff_t>(m));
        return Status::Ok();
    }
  }
  if (parent->kind == Node::kArray && !last.member) {
    bool within;
    size_t p = CellPosition(last, kids.size(), &within);
    auto it = kids.begin() + static_cast<std::ptrdiff_t>(p);
    switch (diff.op) {
      case JsonDiffOp::kReplace:
        if (!within) return mismatch("array index out of range");
        *it = std::move(value);
        return Status::Ok();
      case JsonDiffOp::kInsert:
        kids.insert(it, std::move(value));  // JSON_ARRAY_INSERT: past the end appends
        return Status::Ok();
      case JsonDiffOp::kRemove:
        if (!within) return mismatch("array index out of range");
        kids.erase(it);
        return Status::Ok();
    }
  }
  return mismatch("path leg does not match the value type");
}

}  // namespace

Status ParseJsonDiffs(std::string_view bytes, std::vector<JsonDiff>* out) {
  out->clear();
  ByteReader r(bytes);
  while (!r.empty()) {
    uint8_t op;
    uint64_t path_len;
    std::string_view path;
    if (!r.ReadU8(&op)) return Truncated("operation");
    if (op > static_cast<uint8_t>(JsonDiffOp::kRemove)) {
      return Status::Corruption("partial JSON diff has unknown operation " + std::to_string(op));
    }
    if (!r.ReadPackedInt(&path_len)) return Truncated("path length");
    if (!r.ReadBytes(path_len, &path)) return Truncated("path");
    JsonDiff d;
    d.op = static_cast<JsonDiffOp>(op);
    d.path.assign(path);
    if (d.op != JsonDiffOp::kRemove) {
      uint64_t value_len;
      std::string_view value;
      if (!r.ReadPackedInt(&value_len)) return Truncated("value length");
      if (!r.ReadBytes(value_len, &value)) return Truncated("value");
      if (value.empty()) return Truncated("empty value");
      Status st = JsonBinaryToText(value, &d.value);
      if (!st.ok()) return st.WithContext("partial JSON diff value at path '" + d.path + "'");
    }
    out->push_back(std::move(d));
  }
  return Status::Ok();
}

Status ApplyJsonDiffs(std::string_view before, const std::vector<JsonDiff>& diffs,
                      std::string* after) {
  Node root;
  if (!TextParser(before).Parse(&root)) {
    return Status::Corruption("partial JSON update: the before-image is not valid JSON");
  }
  for (const JsonDiff& d : diffs) BL_RETURN_IF_ERROR(ApplyOne(d, &root));
  if (Depth(root) > kMaxDepth) {
    return Status::Corruption("partial JSON update: the result is nested too deeply");
  }
  after->clear();
  Print(root, after);
  return Status::Ok();
}

Status DecodePartialJson(const ColumnDef& col, ByteReader& r, const Value& before, Value* out) {
  if (col.meta < 1 || col.meta > 4) {
    return Status::Corruption("JSON column with length-prefix size " + std::to_string(col.meta));
  }
  uint64_t len;
  std::string_view bytes;
  if (!r.ReadUIntLE(col.meta, &len)) return Truncated("length");
  if (!r.ReadBytes(len, &bytes)) return Truncated("diff list");
  std::vector<JsonDiff> diffs;
  BL_RETURN_IF_ERROR(ParseJsonDiffs(bytes, &diffs));
  // A diff never applies to SQL NULL, so a non-JSON before means the image left the column out
  // (binlog_row_image=MINIMAL/NOBLOB): the document is unknown here, so the diffs themselves are
  // the value, for a consumer that holds the document to apply.
  if (before.kind != ValueKind::kJson) {
    out->kind = ValueKind::kJsonDiff;
    out->text.assign("[");
    for (size_t i = 0; i < diffs.size(); i++) {
      if (i) out->text.append(", ");
      static const char* kOps[] = {"replace", "insert", "remove"};
      out->text.append("{\"op\": \"")
          .append(kOps[static_cast<int>(diffs[i].op)])
          .append("\", \"path\": ");
      AppendJsonString(diffs[i].path, &out->text);
      if (diffs[i].op != JsonDiffOp::kRemove)
        out->text.append(", \"value\": ").append(diffs[i].value);
      out->text.append("}");
    }
    out->text.append("]");
    return Status::Ok();
  }
  std::string text;
  BL_RETURN_IF_ERROR(ApplyJsonDiffs(before.text, diffs, &text));
  out->kind = ValueKind::kJson;
  out->text = std::move(text);
  return Status::Ok();
}

}  // namespace binlake::binlog
