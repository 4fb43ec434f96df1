#include "json_value.h"

#include <cstdint>

#include "aisle/common/json.h"

namespace aisle::pos::json {

const Value* Value::find(std::string_view key) const {
  for (const auto& m : members)
    if (m.key == key) return &m.value;
  return nullptr;
}

namespace {

// Recursive descent over the bytes; the first error stops it (`error` set, the tree abandoned).
class Reader {
 public:
  Reader(std::string_view s, std::size_t maxDepth) : s_(s), maxDepth_(maxDepth) {}

  Result<Value> run() {
    Value root;
    skipSpace();
    if (value(root, 0)) {
      skipSpace();
      if (at_ < s_.size()) error("text after the document");
    }
    if (!error_.empty()) return fail(error_ + " at byte " + std::to_string(errorAt_));
    return root;
  }

 private:
  bool error(const char* what) {
    if (error_.empty()) {
      error_ = what;
      errorAt_ = at_;
    }
    return false;
  }

  void skipSpace() {
    while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\n' || s_[at_] == '\r')) ++at_;
  }

  bool literal(std::string_view word) {
    if (s_.substr(at_, word.size()) != word) return error("unexpected characters");
    at_ += word.size();
    return true;
  }

  bool value(Value& v, std::size_t depth) {
    if (at_ >= s_.size()) return error("unexpected end of the document");
    switch (s_[at_]) {
      case '{': return object(v, depth + 1);
      case '[': return array(v, depth + 1);
      case '"':
        v.type = Value::Type::String;
        return string(v.text);
      case 't':
        v.type = Value::Type::Bool;
        v.boolean = true;
        return literal("true");
      case 'f':
        v.type = Value::Type::Bool;
        return literal("false");
      case 'n': return literal("null");
      default: return number(v);
    }
  }

  // The elements of an array or the members of an object, at_ on its opening bracket: `element`
  // reads one (at_ on its first byte), then a ',' means another and `close` the end.
  template <class Element>
  bool list(char close, const char* expected, Element element) {
    ++at_;  // '[' or '{'
    skipSpace();
    if (at_ < s_.size() && s_[at_] == close) {
      ++at_;
      return true;
    }
    for (;;) {
      if (!element()) return false;
      skipSpace();
      if (at_ < s_.size() && s_[at_] == ',') {
        ++at_;
        skipSpace();
        continue;
      }
      if (at_ < s_.size() && s_[at_] == close) {
        ++at_;
        return true;
      }
      return error(expected);
    }
  }

  bool object(Value& v, std::size_t depth) {
    if (depth > maxDepth_) return error("nested too deep");
    v.type = Value::Type::Object;
    return list('}', "expected ',' or '}' in an object", [&] {
      if (at_ >= s_.size() || s_[at_] != '"') return error("expected a quoted key");
      std::string key;
      if (!string(key)) return false;
      if (v.find(key)) return error("a key appears twice in one object");
      skipSpace();
      if (at_ >= s_.size() || s_[at_] != ':') return error("expected ':' after a key");
      ++at_;
      skipSpace();
      v.members.push_back(Member{std::move(key), Value{}});
      return value(v.members.back().value, depth);
    });
  }

  bool array(Value& v, std::size_t depth) {
    if (depth > maxDepth_) return error("nested too deep");
    v.type = Value::Type::Array;
    return list(']', "expected ',' or ']' in an array", [&] {
      v.items.emplace_back();
      return value(v.items.back(), depth);
    });
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, kept as written.
  bool number(Value& v) {
    const std::size_t start = at_;
    auto digits = [&] {
      const std::size_t from = at_;
      while (at_ < s_.size() && digit(s_[at_])) ++at_;
      return at_ > from;
    };
    if (at_ < s_.size() && s_[at_] == '-') ++at_;
    if (at_ >= s_.size() || !digit(s_[at_])) return error("unexpected characters");
    if (s_[at_] == '0') {
      ++at_;
    } else {
      digits();
    }
    bool integer = true;
    if (at_ < s_.size() && s_[at_] == '.') {
      ++at_;
      integer = false;
      if (!digits()) return error("a number needs digits after its '.'");
    }
    if (at_ < s_.size() && (s_[at_] == 'e' || s_[at_] == 'E')) {
      ++at_;
      integer = false;
      if (at_ < s_.size() && (s_[at_] == '+' || s_[at_] == '-')) ++at_;
      if (!digits()) return error("a number needs digits in its exponent");
    }
    v.type = Value::Type::Number;
    v.integer = integer;
    v.text.assign(s_.substr(start, at_ - start));
    return true;
  }

  // One UTF-8 sequence starting at at_ (a lead byte >= 0x80): well-formed and shortest, no
  // surrogates, at most U+10FFFF. Copied as is.
  bool utf8(std::string& out) {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s_[at_ + i]); };
    const unsigned char lead = b(0);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
      n = 2;
      cp = lead & 0x1Fu;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      n = 3;
      cp = lead & 0x0Fu;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      n = 4;
      cp = lead & 0x07u;
    } else {
      return error("a string is not valid UTF-8");
    }
    if (at_ + n > s_.size()) return error("a string is not valid UTF-8");
    for (std::size_t i = 1; i < n; ++i) {
      if ((b(i) & 0xC0) != 0x80) return error("a string is not valid UTF-8");
      cp = (cp << 6) | (b(i) & 0x3Fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
      return error("a string is not valid UTF-8");
    out.append(s_.substr(at_, n));
    at_ += n;
    return true;
  }

  bool string(std::string& out) {
    ++at_;  // '"'
    for (;;) {
      // The plain run up to the next quote, backslash, control or non-ASCII byte in one append.
      std::size_t end = at_;
      while (end < s_.size()) {
        const auto c = static_cast<unsigned char>(s_[end]);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++end;
      }
      out.append(s_.substr(at_, end - at_));
      at_ = end;
      if (at_ >= s_.size()) return error("a string is not closed");
      const auto c = static_cast<unsigned char>(s_[at_]);
      if (c == '"') {
        ++at_;
        return true;
      }
      if (c < 0x20) return error("a control character inside a string (escape it)");
      if (c >= 0x80) {
        if (!utf8(out)) return false;
        continue;
      }
      // A backslash escape.
      if (++at_ >= s_.size()) return error("a string is not closed");
      if (const char* why = appendJsonEscape(s_, at_, out)) return error(why);
    }
  }

  std::string_view s_;
  std::size_t maxDepth_;
  std::size_t at_ = 0;
  std::string error_;
  std::size_t errorAt_ = 0;
};

}  // namespace

Result<Value> parse(std::string_view text, std::size_t maxDepth) { return Reader(text, maxDepth).run(); }

}  // namespace aisle::pos::json
