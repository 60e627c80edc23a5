#include "source/ddl.h"

#include <cctype>
#include <optional>

namespace binlake::source {
namespace {

// A token: a word or backquoted name (`quoted` set), or one punctuation character.
struct Token {
  std::string text;
  bool quoted = false;
};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  // The next token, or nullopt at the end (or on something this reader does not know).
  std::optional<Token> Next() {
    SkipSpaceAndComments();
    if (i_ >= s_.size()) return std::nullopt;
    const char c = s_[i_];
    if (c == '`') {
      Token t;
      t.quoted = true;
      for (i_++; i_ < s_.size(); i_++) {
        if (s_[i_] == '`') {
          if (i_ + 1 < s_.size() && s_[i_ + 1] == '`') {
            t.text += '`';
            i_++;
            continue;
          }
          i_++;
          return t;
        }
        t.text += s_[i_];
      }
      return std::nullopt;  // unterminated
    }
    if (IsWordChar(c)) {
      Token t;
      while (i_ < s_.size() && IsWordChar(s_[i_])) t.text += s_[i_++];
      return t;
    }
    i_++;
    return Token{std::string(1, c), false};
  }

 private:
  static bool IsWordChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
           static_cast<unsigned char>(c) >= 0x80;
  }

  void SkipSpaceAndComments() {
    while (i_ < s_.size()) {
      if (std::isspace(static_cast<unsigned char>(s_[i_]))) {
        i_++;
      } else if (s_.substr(i_, 2) == "/*") {
        const size_t end = s_.find("*/", i_ + 2);
        i_ = end == std::string_view::npos ? s_.size() : end + 2;
      } else if (s_[i_] == '#' ||
                 (s_.substr(i_, 2) == "--" &&
                  (i_ + 2 >= s_.size() || std::isspace(static_cast<unsigned char>(s_[i_ + 2]))))) {
        const size_t end = s_.find('\n', i_);
        i_ = end == std::string_view::npos ? s_.size() : end + 1;
      } else {
        return;
      }
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

bool Is(const std::optional<Token>& t, std::string_view word) {
  if (!t || t->quoted || t->text.size() != word.size()) return false;
  for (size_t i = 0; i < word.size(); i++) {
    if (std::toupper(static_cast<unsigned char>(t->text[i])) != word[i]) return false;
  }
  return true;
}

class Reader {
 public:
  Reader(std::string_view q, std::string_view default_schema)
      : lex_(q), default_schema_(default_schema) {
    tok_ = lex_.Next();
  }

  const std::optional<Token>& peek() const { return tok_; }
  bool Accept(std::string_view word) {
    if (!Is(tok_, word)) return false;
    tok_ = lex_.Next();
    return true;
  }
  bool AcceptChar(char c) {
    if (!tok_ || tok_->quoted || tok_->text != std::string(1, c)) return false;
    tok_ = lex_.Next();
    return true;
  }
  // [schema.]table
  std::optional<TableName> Name() {
    auto first = Word();
    if (!first) return std::nullopt;
    if (!AcceptChar('.')) return TableName{std::string(default_schema_), *first};
    auto second = Word();
    if (!second) return std::nullopt;
    return TableName{*first, *second};
  }

 private:
  std::optional<std::string> Word() {
    if (!tok_) return std::nullopt;
    const auto c = static_cast<unsigned char>(tok_->text.empty() ? ' ' : tok_->text[0]);
    if (!tok_->quoted && !(std::isalnum(c) || c == '_' || c == '$' || c >= 0x80)) {
      return std::nullopt;
    }
    std::string w = tok_->text;
    tok_ = lex_.Next();
    return w;
  }

  Lexer lex_;
  std::string_view default_schema_;
  std::optional<Token> tok_;
};

}  // namespace

TableDdl ReadTableDdl(std::string_view query, std::string_view default_schema) {
  TableDdl out;
  Reader r(query, default_schema);
  if (r.Accept("TRUNCATE")) {
    r.Accept("TABLE");
    if (auto n = r.Name(); n && !r.peek()) out.emptied.push_back(*n);
    return out;
  }
  if (r.Accept("DROP")) {
    if (r.Accept("TEMPORARY") || !r.Accept("TABLE")) return out;
    if (r.Accept("IF") && !r.Accept("EXISTS")) return out;
    TableDdl d;
    do {
      auto n = r.Name();
      if (!n) return out;
      d.emptied.push_back(*n);
    } while (r.AcceptChar(','));
    r.Accept("RESTRICT") || r.Accept("CASCADE");
    return r.peek() ? out : d;
  }
  if (r.Accept("RENAME")) {
    if (!r.Accept("TABLE") && !r.Accept("TABLES")) return out;
    TableDdl d;
    do {
      auto from = r.Name();
      if (!from || !r.Accept("TO")) return out;
      auto to = r.Name();
      if (!to) return out;
      d.emptied.push_back(*from);
      d.renamed_to.push_back(*to);
    } while (r.AcceptChar(','));
    return r.peek() ? out : d;
  }
  if (r.Accept("ALTER")) {
    r.Accept("ONLINE") || r.Accept("IGNORE");
    if (!r.Accept("TABLE")) return out;
    if (r.Accept("IF") && !r.Accept("EXISTS")) return out;
    auto from = r.Name();
    if (!from) return out;
    if (!r.Accept("RENAME")) {
      out.altered.push_back(*from);
      return out;
    }
    if (Is(r.peek(), "COLUMN") || Is(r.peek(), "INDEX") || Is(r.peek(), "KEY")) {
      out.altered.push_back(*from);
      return out;
    }
    r.Accept("TO") || r.Accept("AS");
    auto to = r.Name();
    if (!to || r.peek()) return out;
    out.emptied.push_back(*from);
    out.renamed_to.push_back(*to);
    return out;
  }
  if (r.Accept("CREATE")) {  // CREATE [UNIQUE] INDEX i ON t (...)
    r.Accept("OR") && r.Accept("REPLACE");
    r.Accept("UNIQUE") || r.Accept("FULLTEXT") || r.Accept("SPATIAL");
    if (!r.Accept("INDEX")) return out;
    if (r.Accept("IF") && !(r.Accept("NOT") && r.Accept("EXISTS"))) return out;
    if (!r.Name() || !r.Accept("ON")) return out;
    if (auto n = r.Name()) out.altered.push_back(*n);
    return out;
  }
  return out;
}

}  // namespace binlake::source
