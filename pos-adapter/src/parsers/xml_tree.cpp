#include "xml_tree.h"

#include <pugixml.hpp>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>

namespace aisle::pos::xml {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The encoding named in the XML declaration, lower-cased; empty when none is declared.
std::string declaredEncoding(std::string_view b) {
  if (b.substr(0, 5) != "<?xml") return {};
  const auto end = b.find("?>");
  const std::string_view decl = b.substr(0, end == std::string_view::npos ? std::min<std::size_t>(b.size(), 200) : end);
  const auto at = decl.find("encoding");
  if (at == std::string_view::npos) return {};
  auto q = decl.find_first_of("\"'", at);
  if (q == std::string_view::npos) return "?";
  const char quote = decl[q];
  const auto close = decl.find(quote, q + 1);
  if (close == std::string_view::npos) return "?";
  return lower(decl.substr(q + 1, close - q - 1));
}

std::string position(std::string_view b, std::size_t offset) {
  offset = std::min(offset, b.size());
  const std::string_view before = b.substr(0, offset);
  const auto line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  const auto lineStart = before.rfind('\n');
  const auto column = offset - (lineStart == std::string_view::npos ? 0 : lineStart + 1);
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

std::string notWellFormed(std::string_view b, std::size_t offset, std::string_view why) {
  return "XML is not well-formed at " + position(b, offset) + ": " + std::string(why);
}

// XML 1.0's Char production: tab, newline, carriage return, and the rest from U+0020 except the
// surrogates and U+FFFE/U+FFFF.
bool xmlChar(std::uint32_t c) {
  return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
         (c >= 0x10000 && c <= 0x10FFFF);
}

// What the scan must look at; everything else (printable ASCII but '<' and '&', tab, LF, CR) is skipped
// in a tight loop.
enum Class : std::uint8_t { kPlain, kControl, kLess, kAmp, kHigh };
constexpr std::array<std::uint8_t, 256> kClass = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = kControl;
  t['\t'] = t['\n'] = t['\r'] = kPlain;
  t['<'] = kLess;
  t['&'] = kAmp;
  for (int c = 0x80; c < 0x100; ++c) t[static_cast<std::size_t>(c)] = kHigh;
  return t;
}();

// The byte scan that makes up for what pugixml does not check. One pass; `elements` is an upper bound
// of the element count (every '<' that can open an element outside comments, CDATA and PIs).
class Scan {
 public:
  explicit Scan(std::string_view b) : b_(b) {}

  std::string run(std::size_t maxElements) {
    const auto* p = reinterpret_cast<const unsigned char*>(b_.data());
    const std::size_t n = b_.size();
    std::size_t i = 0;
    while (i < n) {
      i = skipPlain(p, i, n);
      if (i == n) break;
      switch (kClass[p[i]]) {
        case kControl:
          return control(i);
        case kHigh: {
          std::string e = utf8(i);
          if (!e.empty()) return e;
          break;
        }
        case kAmp: {
          std::string e = reference(i);
          if (!e.empty()) return e;
          break;
        }
        case kLess: {
          // Comments, CDATA and processing instructions may hold '<' and '&' freely; their characters
          // are still checked.
          const char next = i + 1 < n ? b_[i + 1] : '\0';
          if (next != '!' && next != '?') {  // a start or an end tag: the common case
            if (next != '/' && ++elements_ > maxElements) {
              return "document rejected: more than " + std::to_string(maxElements) + " elements";
            }
            ++i;
            break;
          }
          const std::string_view rest = b_.substr(i);
          std::string_view close;
          std::size_t open = 0;
          if (rest.substr(0, 4) == "<!--") {
            close = "-->", open = 4;
          } else if (rest.substr(0, 9) == "<![CDATA[") {
            close = "]]>", open = 9;
          } else if (rest.substr(0, 2) == "<?") {
            close = "?>", open = 2;
          }
          // DTDs are refused outright: no entity can be declared, so none can expand or reach outside.
          if (rest.substr(0, 9) == "<!DOCTYPE" || rest.substr(0, 8) == "<!ENTITY") {
            return "document has a DOCTYPE; DTDs and entity declarations are not accepted";
          }
          if (open) {
            const auto end = b_.find(close, i + open);
            if (end == std::string_view::npos) return notWellFormed(b_, i, "unclosed comment, CDATA section or processing instruction");
            std::string e = characters(i + open, end);
            if (!e.empty()) return e;
            i = end + close.size();
            continue;
          }
          ++i;  // another <! construct: pugixml refuses what it does not know
          break;
        }
        default:
          ++i;
      }
    }
    return {};
  }

  std::size_t elements() const { return elements_; }

 private:
  // The first byte at or after i that is not plain. Sixteen bytes at a time where SSE2 is there (every
  // x86-64): a POSLog sale is 19 KB with a '<' every twenty bytes or so, and this loop was the scan.
  static std::size_t skipPlain(const unsigned char* p, std::size_t i, std::size_t n) {
#if defined(__SSE2__)
    const __m128i space = _mm_set1_epi8(0x20), less = _mm_set1_epi8('<'), amp = _mm_set1_epi8('&');
    while (i + 16 <= n) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      // signed: below 0x20 is a control character, negative is a byte >= 0x80 (tab, LF and CR land
      // here too and are sorted out by the table below)
      const __m128i special = _mm_or_si128(_mm_cmplt_epi8(v, space),
                                           _mm_or_si128(_mm_cmpeq_epi8(v, less), _mm_cmpeq_epi8(v, amp)));
      const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(special));
      if (mask == 0) {
        i += 16;
        continue;
      }
      i += static_cast<std::size_t>(__builtin_ctz(mask));
      if (kClass[p[i]] != kPlain) return i;
      ++i;  // tab, LF or CR
    }
#endif
    while (i < n && kClass[p[i]] == kPlain) ++i;
    return i;
  }

  std::string control(std::size_t& i) const {
    char hex[8];
    std::snprintf(hex, sizeof hex, "%02X", static_cast<unsigned char>(b_[i]));
    return notWellFormed(b_, i, std::string("character U+00") + hex + " is not allowed in XML");
  }

  // One UTF-8 sequence at i (advanced past it): well-formed (no overlong forms, no surrogates, at most
  // U+10FFFF) and an XML character.
  std::string utf8(std::size_t& i) const {
    const auto* p = reinterpret_cast<const unsigned char*>(b_.data());
    const std::size_t n = b_.size();
    const unsigned c = p[i];
    std::size_t len = 0;
    std::uint32_t cp = 0, min = 0;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07, min = 0x10000;
    else return notWellFormed(b_, i, "invalid UTF-8");
    if (i + len > n) return notWellFormed(b_, i, "invalid UTF-8 (truncated sequence)");
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return notWellFormed(b_, i, "invalid UTF-8");
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min) return notWellFormed(b_, i, "invalid UTF-8 (overlong form)");
    if (!xmlChar(cp)) return notWellFormed(b_, i, "a character XML does not allow (surrogate, U+FFFE/U+FFFF or beyond U+10FFFF)");
    i += len;
    return {};
  }

  // Characters only (inside comments, CDATA, PIs), in [from, to).
  std::string characters(std::size_t from, std::size_t to) const {
    const auto* p = reinterpret_cast<const unsigned char*>(b_.data());
    for (std::size_t i = from; i < to;) {
      const auto k = kClass[p[i]];
      if (k == kControl) return control(i);
      if (k == kHigh) {
        std::string e = utf8(i);
        if (!e.empty()) return e;
        continue;
      }
      ++i;
    }
    return {};
  }

  // '&' at i must start one of the five predefined entities or a character reference to an XML
  // character: there is no DTD, so any other name is undefined (expat's "undefined entity").
  std::string reference(std::size_t& i) const {
    const auto semi = b_.find(';', i + 1);
    const std::string_view ref = semi == std::string_view::npos || semi - i > 12 ? std::string_view{} : b_.substr(i + 1, semi - i - 1);
    if (ref == "amp" || ref == "lt" || ref == "gt" || ref == "quot" || ref == "apos") {
      i = semi + 1;
      return {};
    }
    if (ref.size() >= 2 && ref[0] == '#') {
      const bool hex = ref[1] == 'x';
      const std::string_view digits = ref.substr(hex ? 2 : 1);
      std::uint32_t v = 0;
      bool ok = !digits.empty() && digits.size() <= 8;
      for (char ch : digits) {
        if (!ok) break;
        int d = -1;
        if (ch >= '0' && ch <= '9') d = ch - '0';
        else if (hex && ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
        else if (hex && ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
        if (d < 0) ok = false;
        else v = v * (hex ? 16 : 10) + static_cast<std::uint32_t>(d);
      }
      if (ok && xmlChar(v)) {
        i = semi + 1;
        return {};
      }
      return notWellFormed(b_, i, "reference to an invalid character");
    }
    return notWellFormed(b_, i, "undefined entity or a bare '&' (only &amp; &lt; &gt; &quot; &apos; and &#..; are allowed)");
  }

  std::string_view b_;
  std::size_t elements_ = 0;
};

constexpr std::string_view kXmlNamespace = "http://www.w3.org/XML/1998/namespace";

// A namespace declaration in scope: the chain from an element up to the root.
struct NsDecl {
  std::string_view prefix;  // empty: the default namespace
  std::string_view uri;
  const NsDecl* outer = nullptr;
};

// "p:local" -> {"p", "local"}; "local" -> {"", "local"}. False for more than one colon.
bool splitName(std::string_view q, std::string_view& prefix, std::string_view& local) {
  const auto colon = q.find(':');
  if (colon == std::string_view::npos) {
    prefix = {};
    local = q;
    return true;
  }
  prefix = q.substr(0, colon);
  local = q.substr(colon + 1);
  return !prefix.empty() && !local.empty() && local.find(':') == std::string_view::npos;
}

}  // namespace

Document::Document() : doc_(std::make_unique<pugi::xml_document>()) {}
Document::~Document() = default;

Result<std::unique_ptr<Document>> parse(std::string_view b, const Limits& limits) {
  if (b.size() > limits.maxBytes) {
    return fail("document is " + std::to_string(b.size()) + " bytes; the limit is " +
                std::to_string(limits.maxBytes));
  }
  if (b.empty()) return fail("document is empty");
  if (b.size() >= 2 && ((b[0] == '\xFE' && b[1] == '\xFF') || (b[0] == '\xFF' && b[1] == '\xFE'))) {
    return fail("document is UTF-16; only UTF-8 is accepted");
  }
  if (b.find('\0') != std::string_view::npos) return fail("document contains a NUL byte (not UTF-8 XML)");
  if (b.size() >= 3 && b.substr(0, 3) == "\xEF\xBB\xBF") b.remove_prefix(3);  // UTF-8 byte order mark
  const std::string enc = declaredEncoding(b);
  if (!enc.empty() && enc != "utf-8" && enc != "utf8" && enc != "us-ascii") {
    return fail("document declares encoding '" + enc.substr(0, 20) + "'; only UTF-8 is accepted");
  }
  Scan scan(b);
  if (auto e = scan.run(limits.maxElements); !e.empty()) return fail(e);

  auto d = std::make_unique<Document>();
  d->bytes_.assign(b);
  // Comments, PIs and the declaration are skipped; CDATA is text; the five entities and character
  // references are expanded (nothing else can be: see the scan), line ends and attribute whitespace
  // normalized as XML says. Fragment mode only so that text outside the root becomes a node (pugixml
  // drops it otherwise) and is refused below, as are several roots or none.
  constexpr unsigned kOptions = pugi::parse_cdata | pugi::parse_escapes | pugi::parse_eol |
                                pugi::parse_wconv_attribute | pugi::parse_fragment;
  const pugi::xml_parse_result parsed =
      d->doc_->load_buffer_inplace(d->bytes_.data(), d->bytes_.size(), kOptions, pugi::encoding_utf8);
  if (!parsed) return fail(notWellFormed(b, static_cast<std::size_t>(parsed.offset), parsed.description()));

  pugi::xml_node top;
  for (pugi::xml_node c = d->doc_->first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element) {
      if (top) return fail(notWellFormed(b, b.size(), "more than one root element"));
      top = c;
    } else if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) {
      return fail(notWellFormed(b, b.size(), "text outside the root element"));
    }
  }
  if (!top) return fail("document has no root element");

  // Breadth first, so each element's children land next to each other in nodes_. The scan's count
  // bounds the elements, so nodes_ never reallocates and the children ranges can point into it.
  std::vector<Node>& nodes = d->nodes_;
  nodes.reserve(scan.elements() + 1);
  struct Pending {
    pugi::xml_node element;
    const NsDecl* scope;       // prefixed declarations in scope
    std::string_view defaultNs;  // the default namespace in scope (most elements use it)
    std::size_t depth;
  };
  std::vector<Pending> pending;
  pending.reserve(scan.elements() + 1);
  std::vector<std::size_t> attributeStart;
  attributeStart.reserve(scan.elements() + 1);
  std::deque<NsDecl> declarations;
  nodes.emplace_back();
  pending.push_back({top, nullptr, {}, 1});
  auto resolve = [](std::string_view prefix, const NsDecl* scope, std::string_view& uri) {
    if (prefix.empty()) return true;  // uri already holds the default namespace
    if (prefix == "xml") {
      uri = kXmlNamespace;
      return true;
    }
    for (const NsDecl* s = scope; s; s = s->outer)
      if (s->prefix == prefix) {
        uri = s->uri;
        return true;
      }
    return false;
  };
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const pugi::xml_node e = pending[i].element;
    const NsDecl* scope = pending[i].scope;
    std::string_view defaultNs = pending[i].defaultNs;
    const pugi::xml_attribute firstAttribute = e.first_attribute();  // most elements have none
    for (pugi::xml_attribute a = firstAttribute; a; a = a.next_attribute()) {
      const std::string_view name = a.name();
      if (name == "xmlns") {
        defaultNs = a.value();
      } else if (name.substr(0, 6) == "xmlns:") {
        if (*a.value() == '\0') return fail(notWellFormed(b, b.size(), "namespace prefix '" + std::string(name.substr(6, 40)) + "' declared empty"));
        scope = &declarations.emplace_back(NsDecl{name.substr(6), a.value(), scope});
      }
    }
    Node& node = nodes[i];
    std::string_view prefix;
    node.ns = defaultNs;
    if (!splitName(e.name(), prefix, node.name) || !resolve(prefix, scope, node.ns)) {
      return fail(notWellFormed(b, b.size(), "element <" + std::string(std::string_view(e.name()).substr(0, 40)) +
                                                 "> has an unbound or malformed namespace prefix"));
    }
    attributeStart.push_back(d->attributes_.size());
    std::size_t own = 0;
    for (pugi::xml_attribute a = firstAttribute; a; a = a.next_attribute()) {
      const std::string_view name = a.name();
      for (pugi::xml_attribute other = firstAttribute; other != a; other = other.next_attribute())
        if (name == other.name()) return fail(notWellFormed(b, b.size(), "duplicate attribute '" + std::string(name.substr(0, 40)) + "'"));
      if (name == "xmlns" || name.substr(0, 6) == "xmlns:") continue;
      Attribute at;
      at.value = a.value();
      if (!splitName(name, prefix, at.name)) return fail(notWellFormed(b, b.size(), "malformed attribute name '" + std::string(name.substr(0, 40)) + "'"));
      if (!prefix.empty() && !resolve(prefix, scope, at.ns)) {
        return fail(notWellFormed(b, b.size(), "attribute '" + std::string(name.substr(0, 40)) + "' has an unbound prefix"));
      }
      for (std::size_t k = attributeStart.back(); k < d->attributes_.size(); ++k)
        if (d->attributes_[k].ns == at.ns && d->attributes_[k].name == at.name)
          return fail(notWellFormed(b, b.size(), "duplicate attribute '" + std::string(name.substr(0, 40)) + "'"));
      d->attributes_.push_back(at);
      ++own;
    }
    node.attributes.count = own;

    const std::size_t firstChild = nodes.size();
    std::string_view text;
    std::string* joined = nullptr;
    for (pugi::xml_node c = e.first_child(); c; c = c.next_sibling()) {
      const auto type = c.type();
      if (type == pugi::node_element) {
        if (pending[i].depth + 1 > limits.maxDepth) {
          return fail("document rejected: elements nested deeper than " + std::to_string(limits.maxDepth) + " levels");
        }
        if (nodes.size() == nodes.capacity()) return fail("document rejected: more elements than counted");
        nodes.emplace_back();
        pending.push_back({c, scope, defaultNs, pending[i].depth + 1});
      } else if (type == pugi::node_pcdata || type == pugi::node_cdata) {
        const std::string_view piece = c.value();
        if (joined) {
          joined->append(piece);
        } else if (text.empty()) {
          text = piece;
        } else {
          joined = &d->joined_.emplace_back(text);
          joined->append(piece);
        }
      }
    }
    node.text = joined ? std::string_view(*joined) : text;
    node.children = {nodes.data() + firstChild, nodes.size() - firstChild};
  }
  // The attributes vector grew while it was filled: point the ranges at it now.
  for (std::size_t i = 0; i < nodes.size(); ++i) nodes[i].attributes.first = d->attributes_.data() + attributeStart[i];
  return d;
}

}  // namespace aisle::pos::xml
