// A purpose-built reader for the two JSON shapes of the next-basket files. A generic DOM (Poco
// JSON) spends seconds building objects for 100k small arrays; this walks the bytes once, so
// loading stays a small share of the 3-second evaluate budget.
#include <string>
#include <vector>

#include "aisle/engine/history.h"

namespace aisle::engine {
namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view text) : s_(text) {}

  void skipSpace() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\n' || s_[p_] == '\r' || s_[p_] == '\t'))
      ++p_;
  }
  bool consume(char c) {
    skipSpace();
    if (p_ < s_.size() && s_[p_] == c) {
      ++p_;
      return true;
    }
    return false;
  }
  char peek() {
    skipSpace();
    return p_ < s_.size() ? s_[p_] : '\0';
  }
  bool atEnd() {
    skipSpace();
    return p_ >= s_.size();
  }
  Error error(const std::string& what) const {
    return fail(what + " at byte " + std::to_string(p_));
  }

  Result<std::string> string() {
    if (!consume('"')) return error("expected a string");
    std::string out;
    while (p_ < s_.size() && s_[p_] != '"') {
      char c = s_[p_++];
      if (c == '\\') {
        if (p_ >= s_.size()) break;
        const char e = s_[p_++];
        switch (e) {
          case '"':
          case '\\':
          case '/':
            c = e;
            break;
          case 'n':
            c = '\n';
            break;
          case 't':
            c = '\t';
            break;
          case 'r':
            c = '\r';
            break;
          case 'b':
            c = '\b';
            break;
          case 'f':
            c = '\f';
            break;
          default:
            return error("unsupported escape in string");  // ids never need \u
        }
      }
      out.push_back(c);
    }
    if (p_ >= s_.size()) return error("unterminated string");
    ++p_;
    return out;
  }

  Result<std::int64_t> integer() {
    skipSpace();
    bool negative = false;
    if (p_ < s_.size() && s_[p_] == '-') {
      negative = true;
      ++p_;
    }
    const std::size_t start = p_;
    std::int64_t v = 0;
    while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') {
      if (v > (std::int64_t{1} << 58)) return error("integer too large");
      v = v * 10 + (s_[p_++] - '0');
    }
    if (p_ == start) return error("expected an integer");
    return negative ? -v : v;
  }

  // Skips any JSON value (keys of the keyset this reader does not use).
  Status skipValue() {
    const char c = peek();
    if (c == '"') {
      auto s = string();
      if (!s) return s.error();
      return okStatus();
    }
    if (c == '[' || c == '{') {
      const char close = c == '[' ? ']' : '}';
      ++p_;
      if (consume(close)) return okStatus();
      do {
        if (c == '{') {
          auto k = string();
          if (!k) return k.error();
          if (!consume(':')) return error("expected ':'");
        }
        auto st = skipValue();
        if (!st) return st;
      } while (consume(','));
      if (!consume(close)) return error(std::string("expected '") + close + "'");
      return okStatus();
    }
    while (p_ < s_.size() && s_[p_] != ',' && s_[p_] != '}' && s_[p_] != ']') ++p_;
    return okStatus();
  }

 private:
  std::string_view s_;
  std::size_t p_ = 0;
};

Result<std::vector<std::string>> stringArray(Scanner& sc) {
  std::vector<std::string> out;
  if (!sc.consume('[')) return sc.error("expected '['");
  if (sc.consume(']')) return out;
  do {
    // Keysets written by other tools may hold member ids as numbers.
    if (sc.peek() == '"') {
      auto s = sc.string();
      if (!s) return s.error();
      out.push_back(std::move(*s));
    } else {
      auto n = sc.integer();
      if (!n) return n.error();
      out.push_back(std::to_string(*n));
    }
  } while (sc.consume(','));
  if (!sc.consume(']')) return sc.error("expected ']'");
  return out;
}

}  // namespace

Status parseBasketJson(std::string_view text, MemberDictionary& members, ItemDictionary& items,
                       BasketLog& log) {
  Scanner sc(text);
  if (!sc.consume('{')) return sc.error("expected '{'");
  std::vector<ItemIndex> basket;
  std::vector<std::int64_t> raw;
  if (!sc.consume('}')) {
    do {
      auto member = sc.string();
      if (!member) return member.error();
      if (!sc.consume(':')) return sc.error("expected ':'");
      const MemberIndex m = members.intern(*member);
      if (!sc.consume('[')) return sc.error("expected the basket list of member " + *member);
      if (!sc.consume(']')) {
        do {
          if (!sc.consume('[')) return sc.error("expected a basket of member " + *member);
          raw.clear();
          if (!sc.consume(']')) {
            do {
              auto v = sc.integer();
              if (!v) return v.error();
              raw.push_back(*v);
            } while (sc.consume(','));
            if (!sc.consume(']')) return sc.error("expected ']' closing a basket");
          }
          // The paper's files wrap each list in [-1] sentinels; they are not baskets.
          if (raw.size() == 1 && raw[0] == -1) continue;
          basket.clear();
          for (std::int64_t v : raw) {
            if (v < 0) return sc.error("negative item id in a basket of member " + *member);
            basket.push_back(items.intern(v));
          }
          if (!basket.empty()) log.add(m, basket);
        } while (sc.consume(','));
        if (!sc.consume(']')) return sc.error("expected ']' closing the baskets of " + *member);
      }
    } while (sc.consume(','));
    if (!sc.consume('}')) return sc.error("expected '}'");
  }
  if (!sc.atEnd()) return sc.error("trailing characters");
  return okStatus();
}

Result<Keyset> parseKeyset(std::string_view text) {
  Scanner sc(text);
  Keyset k;
  if (!sc.consume('{')) return sc.error("expected '{'");
  bool sawTest = false;
  if (!sc.consume('}')) {
    do {
      auto key = sc.string();
      if (!key) return key.error();
      if (!sc.consume(':')) return sc.error("expected ':'");
      if (*key == "item_num") {
        auto n = sc.integer();
        if (!n) return n.error();
        k.itemNum = *n;
      } else if (*key == "train" || *key == "val" || *key == "test") {
        auto list = stringArray(sc);
        if (!list) return list.error();
        sawTest = sawTest || *key == "test";
        (*key == "train" ? k.train : *key == "val" ? k.val : k.test) = std::move(*list);
      } else {
        auto st = sc.skipValue();
        if (!st) return st.error();
      }
    } while (sc.consume(','));
    if (!sc.consume('}')) return sc.error("expected '}'");
  }
  if (!sc.atEnd()) return sc.error("trailing characters");
  if (!sawTest) return fail("keyset has no \"test\" list");
  return k;
}

}  // namespace aisle::engine
