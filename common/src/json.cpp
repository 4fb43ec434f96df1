#include "aisle/common/json.h"

#include <cstdint>

namespace aisle {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool hex4(std::string_view t, std::size_t at, std::uint32_t& v) {
  if (at + 4 > t.size()) return false;
  v = 0;
  for (std::size_t k = at; k < at + 4; ++k) {
    const int h = hexValue(t[k]);
    if (h < 0) return false;
    v = v * 16 + static_cast<std::uint32_t>(h);
  }
  return true;
}

void appendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void appendEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += "\\u00";
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 0xF]);
        } else {
          out.push_back(c);
        }
    }
  }
}

}  // namespace

void appendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  appendEscaped(out, s);
  out.push_back('"');
}

std::string jsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  appendEscaped(out, s);
  return out;
}

const char* appendJsonEscape(std::string_view t, std::size_t& pos, std::string& out) {
  if (pos >= t.size()) return "a string ends inside an escape";
  const char e = t[pos++];
  switch (e) {
    case '"': out.push_back('"'); return nullptr;
    case '\\': out.push_back('\\'); return nullptr;
    case '/': out.push_back('/'); return nullptr;
    case 'b': out.push_back('\b'); return nullptr;
    case 'f': out.push_back('\f'); return nullptr;
    case 'n': out.push_back('\n'); return nullptr;
    case 'r': out.push_back('\r'); return nullptr;
    case 't': out.push_back('\t'); return nullptr;
    case 'u': break;
    default: return "an unknown escape in a string";
  }
  std::uint32_t cp = 0;
  if (!hex4(t, pos, cp)) return "a \\u escape needs four hex digits";
  pos += 4;
  if (cp >= 0xDC00 && cp < 0xE000) return "a lone low surrogate in a \\u escape";
  if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair encodes one code point
    std::uint32_t lo = 0;
    if (t.substr(pos, 2) != "\\u" || !hex4(t, pos + 2, lo) || lo < 0xDC00 || lo >= 0xE000)
      return "a high surrogate in a \\u escape without its low half";
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    pos += 6;
  }
  appendUtf8(out, cp);
  return nullptr;
}

}  // namespace aisle
