#pragma once
// A tiny JSON writer and a flat-object reader: the gateway emits and reads one JSON object per
// line (decode output, sightings, zone events) and must not pull a JSON library onto the Pi.
// Both work on caller-owned buffers so a steady stream of lines does not allocate.
#include <cstdint>
#include <string>
#include <string_view>

namespace aisle::gateway {

// Appends `s` as a JSON string literal (quotes included), escaping quotes, backslashes and control
// characters; bytes >= 0x80 pass through (input is expected to be UTF-8).
void appendJsonString(std::string& out, std::string_view s);

// Builds one object: JsonObjectWriter w(buf); w.field("kind", "ibeacon"); w.field("major", 1); w.close();
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(out) { out_.push_back('{'); }
  JsonObjectWriter& field(std::string_view key, std::string_view value);
  JsonObjectWriter& field(std::string_view key, const char* value) {
    return field(key, std::string_view(value));
  }
  JsonObjectWriter& field(std::string_view key, std::int64_t value);
  JsonObjectWriter& field(std::string_view key, int value) {
    return field(key, static_cast<std::int64_t>(value));
  }
  JsonObjectWriter& field(std::string_view key, unsigned value) {
    return field(key, static_cast<std::int64_t>(value));
  }
  // Shortest text that reads back as the same double; non-finite values are written as null.
  JsonObjectWriter& field(std::string_view key, double value);
  JsonObjectWriter& field(std::string_view key, bool value);
  // `json` must already be valid JSON (a nested object or array built by the caller).
  JsonObjectWriter& raw(std::string_view key, std::string_view json);
  void close() { out_.push_back('}'); }

 private:
  void key(std::string_view k);
  std::string& out_;
  bool first_ = true;
};

// Reads one flat JSON object ({"k": "v", "n": -70, ...}) and calls the visitor for each member
// with the decoded key and either the decoded string or the raw number/literal text. Nested
// objects and arrays are rejected (no input of ours has them). Strings without escapes are handed
// out as views into the input; escaped ones are decoded into buffers the reader reuses, so a
// reader kept across lines stops allocating once its buffers have grown.
class JsonFlatVisitor {
 public:
  virtual ~JsonFlatVisitor() = default;
  virtual void onString(std::string_view key, std::string_view value) = 0;
  // `raw` is the literal as written: a number, true, false or null.
  virtual void onLiteral(std::string_view key, std::string_view raw) = 0;
};

class FlatJsonReader {
 public:
  // nullptr on success, else a static description of the first syntax error; its byte offset
  // goes to `errorOffset`.
  const char* parse(std::string_view text, JsonFlatVisitor& visitor, std::size_t& errorOffset);

 private:
  const char* readString(std::string_view text, std::size_t& pos, std::string& scratch,
                         std::string_view& out);
  std::string keyScratch_;
  std::string valueScratch_;
};

}  // namespace aisle::gateway
