#pragma once
// A strict JSON reader (RFC 8259) for the transaction form: the whole document into a small tree.
//
// Why our own: Poco::JSON took 69 us for a 2 KB sale (Dynamic::Var per value, a std::map per object,
// shared pointers), more than the POSLog parser takes for the same sale in 19 KB of XML; the import
// of JSON files spent most of its CPU there (README, Figures). This one keeps a value in one struct
// with its members in document order.
//
// Stricter than Poco where it matters for money and identity: a key twice in one object is refused
// (which of two "amount"s counts?), strings must be valid UTF-8 with no raw control characters and no
// lone surrogate escapes, and nothing may follow the document but whitespace. A number keeps the
// text it was written with, so an integer id of 25 digits is not rounded through a double and a
// decimal is never mistaken for an exact amount.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "aisle/common/result.h"

namespace aisle::pos::json {

struct Member;

struct Value {
  enum class Type { Null, Bool, Number, String, Array, Object };
  Type type = Type::Null;
  bool boolean = false;
  bool integer = false;  // Number: written without fraction or exponent
  std::string text;      // String: its decoded characters; Number: as written
  std::vector<Value> items;     // Array
  std::vector<Member> members;  // Object, in document order, keys distinct

  // Defined below, where Member is complete (clang's library checks it when they are instantiated).
  Value();
  ~Value();
  Value(Value&&) noexcept;
  Value& operator=(Value&&) noexcept;
  Value(const Value&);
  Value& operator=(const Value&);

  bool isNull() const { return type == Type::Null; }
  bool isObject() const { return type == Type::Object; }
  bool isArray() const { return type == Type::Array; }
  // The member named `key` of an object, or null if there is none (or this is not an object).
  const Value* find(std::string_view key) const;
};

struct Member {
  std::string key;
  Value value;
};

inline Value::Value() = default;
inline Value::~Value() = default;
inline Value::Value(Value&&) noexcept = default;
inline Value& Value::operator=(Value&&) noexcept = default;
inline Value::Value(const Value&) = default;
inline Value& Value::operator=(const Value&) = default;

// Reads one JSON value filling the whole of `text` (whitespace around it aside). Arrays and objects
// nest at most `maxDepth` deep. Errors say what was wrong and at which byte.
Result<Value> parse(std::string_view text, std::size_t maxDepth);

}  // namespace aisle::pos::json
