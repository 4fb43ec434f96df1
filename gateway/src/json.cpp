#include "aisle/gateway/json.h"

#include <charconv>
#include <cmath>

#include "aisle/common/json.h"

namespace aisle::gateway {

void appendJsonString(std::string& out, std::string_view s) { aisle::appendJsonString(out, s); }

void JsonObjectWriter::key(std::string_view k) {
  if (!first_) out_.push_back(',');
  first_ = false;
  appendJsonString(out_, k);
  out_.push_back(':');
}

JsonObjectWriter& JsonObjectWriter::field(std::string_view k, std::string_view value) {
  key(k);
  appendJsonString(out_, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::field(std::string_view k, std::int64_t value) {
  key(k);
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  out_.append(buf, r.ptr);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::field(std::string_view k, double value) {
  key(k);
  if (!std::isfinite(value)) {
    out_ += "null";
    return *this;
  }
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  out_.append(buf, r.ptr);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::field(std::string_view k, bool value) {
  key(k);
  out_ += value ? "true" : "false";
  return *this;
}

JsonObjectWriter& JsonObjectWriter::raw(std::string_view k, std::string_view json) {
  key(k);
  out_.append(json);
  return *this;
}

namespace {

void skipSpace(std::string_view t, std::size_t& pos) {
  while (pos < t.size() && (t[pos] == ' ' || t[pos] == '\t' || t[pos] == '\r' || t[pos] == '\n')) ++pos;
}

}  // namespace

// pos is at the opening quote; on success pos is after the closing quote.
const char* FlatJsonReader::readString(std::string_view t, std::size_t& pos, std::string& scratch,
                                       std::string_view& out) {
  const std::size_t start = ++pos;
  // Fast path: no escapes -> a view into the input.
  std::size_t i = start;
  while (i < t.size() && t[i] != '"' && t[i] != '\\') {
    if (static_cast<unsigned char>(t[i]) < 0x20) return "control character in string";
    ++i;
  }
  if (i >= t.size()) return "unterminated string";
  if (t[i] == '"') {
    out = t.substr(start, i - start);
    pos = i + 1;
    return nullptr;
  }
  scratch.assign(t.substr(start, i - start));
  while (i < t.size()) {
    const char c = t[i];
    if (c == '"') {
      out = scratch;
      pos = i + 1;
      return nullptr;
    }
    if (static_cast<unsigned char>(c) < 0x20) return "control character in string";
    if (c != '\\') {
      scratch.push_back(c);
      ++i;
      continue;
    }
    if (++i >= t.size()) break;
    if (const char* e = appendJsonEscape(t, i, scratch)) return e;
  }
  return "unterminated string";
}

const char* FlatJsonReader::parse(std::string_view t, JsonFlatVisitor& visitor,
                                  std::size_t& errorOffset) {
  std::size_t pos = 0;
  auto failAt = [&](const char* why) {
    errorOffset = pos;
    return why;
  };
  skipSpace(t, pos);
  if (pos >= t.size() || t[pos] != '{') return failAt("expected '{'");
  ++pos;
  skipSpace(t, pos);
  if (pos < t.size() && t[pos] == '}') {
    ++pos;
  } else {
    for (;;) {
      skipSpace(t, pos);
      if (pos >= t.size() || t[pos] != '"') return failAt("expected a member name");
      std::string_view key;
      if (const char* e = readString(t, pos, keyScratch_, key)) return failAt(e);
      skipSpace(t, pos);
      if (pos >= t.size() || t[pos] != ':') return failAt("expected ':'");
      ++pos;
      skipSpace(t, pos);
      if (pos >= t.size()) return failAt("expected a value");
      const char c = t[pos];
      if (c == '"') {
        std::string_view value;
        if (const char* e = readString(t, pos, valueScratch_, value)) return failAt(e);
        visitor.onString(key, value);
      } else if (c == '{' || c == '[') {
        return failAt("nested objects and arrays are not supported");
      } else {
        const std::size_t start = pos;
        while (pos < t.size() && t[pos] != ',' && t[pos] != '}' && t[pos] != ' ' &&
               t[pos] != '\t' && t[pos] != '\r' && t[pos] != '\n')
          ++pos;
        const std::string_view raw = t.substr(start, pos - start);
        const bool word = raw == "true" || raw == "false" || raw == "null";
        const bool number = !raw.empty() && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'));
        if (!word && !number) {
          pos = start;
          return failAt("expected a value");
        }
        visitor.onLiteral(key, raw);
      }
      skipSpace(t, pos);
      if (pos < t.size() && t[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < t.size() && t[pos] == '}') {
        ++pos;
        break;
      }
      return failAt("expected ',' or '}'");
    }
  }
  skipSpace(t, pos);
  if (pos != t.size()) return failAt("text after the object");
  return nullptr;
}

}  // namespace aisle::gateway
