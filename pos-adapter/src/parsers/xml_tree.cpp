#include "xml_tree.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <vector>

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

// The first pass: the characters, references and DTD checks, before anything is built. One pass;
// `elements` is an upper bound of the element count (every '<' that can open an element outside
// comments, CDATA and PIs), so the builder never reallocates its element list.
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
          ++i;  // another <! construct: the builder refuses it
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

// Name characters as a table (std::isalnum is a locale-aware call per byte: most of the parse).
// Start: ASCII letters, '_', ':' and any byte of a multi-byte UTF-8 character; then digits, '-', '.'.
enum NameClass : std::uint8_t { kNotName = 0, kNameStart = 1, kNameChar = 2 };
constexpr std::array<std::uint8_t, 256> kName = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = kNameStart | kNameChar;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = kNameStart | kNameChar;
  for (int c = 0x80; c < 0x100; ++c) t[static_cast<std::size_t>(c)] = kNameStart | kNameChar;
  t['_'] = t[':'] = kNameStart | kNameChar;
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = kNameChar;
  t['-'] = t['.'] = kNameChar;
  return t;
}();
bool nameStart(unsigned char c) { return kName[c] & kNameStart; }
bool nameChar(unsigned char c) { return kName[c] & kNameChar; }
bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void appendUtf8(char*& w, std::uint32_t cp) {
  if (cp < 0x80) {
    *w++ = static_cast<char>(cp);
  } else if (cp < 0x800) {
    *w++ = static_cast<char>(0xC0 | (cp >> 6));
    *w++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *w++ = static_cast<char>(0xE0 | (cp >> 12));
    *w++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *w++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *w++ = static_cast<char>(0xF0 | (cp >> 18));
    *w++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *w++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *w++ = static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// What decode() reads: text, an attribute value (whitespace becomes spaces), CDATA (no references).
enum class Content { Text, Attribute, Cdata };

// Decodes [from, to) in place as XML says (never longer than the input): line ends to "\n" (or to a
// space in an attribute, where tab and newline become spaces too), and outside CDATA the five
// predefined entities and character references expanded. The scan has already refused every other '&'.
std::string_view decode(char* from, char* to, Content content) {
  const bool attribute = content == Content::Attribute;
  // Most text has nothing to decode: find the first byte that needs it, and keep the rest as is.
  char* r = from;
  while (r < to && *r != '&' && *r != '\r' && !(attribute && (*r == '\n' || *r == '\t'))) ++r;
  if (r == to) return std::string_view(from, static_cast<std::size_t>(to - from));
  char* w = r;
  while (r < to) {
    const char c = *r;
    if (c == '\r') {
      *w++ = attribute ? ' ' : '\n';
      r += (r + 1 < to && r[1] == '\n') ? 2 : 1;
    } else if (attribute && (c == '\n' || c == '\t')) {
      *w++ = ' ';
      ++r;
    } else if (c == '&' && content != Content::Cdata) {
      char* semi = r + 1;
      while (semi < to && *semi != ';') ++semi;
      const std::string_view ref(r + 1, static_cast<std::size_t>(semi - r - 1));
      if (ref == "amp") *w++ = '&';
      else if (ref == "lt") *w++ = '<';
      else if (ref == "gt") *w++ = '>';
      else if (ref == "quot") *w++ = '"';
      else if (ref == "apos") *w++ = '\'';
      else {
        const bool hex = ref.size() > 1 && ref[1] == 'x';
        std::uint32_t v = 0;
        for (char d : ref.substr(hex ? 2 : 1)) {
          const int digit = d <= '9' ? d - '0' : (d | 0x20) - 'a' + 10;
          v = v * (hex ? 16 : 10) + static_cast<std::uint32_t>(digit);
        }
        appendUtf8(w, v);
      }
      r = semi + 1;
    } else {
      *w++ = c;
      ++r;
    }
  }
  return std::string_view(from, static_cast<std::size_t>(w - from));
}

// The parser proper, over the scanned bytes (so every character, reference and comment/CDATA/PI is
// known good): tags, attributes, text, nesting. Elements are collected in document order with
// first-child/next-sibling links, then laid out breadth first (each element's children contiguous).
class Builder {
 public:
  Builder(std::string_view original, std::string& bytes, const Limits& limits, std::size_t elements)
      : b_(original), p_(bytes.data()), n_(bytes.size()), limits_(limits), elements_(scratch().elements),
        order_(scratch().order) {
    elements_.clear();
    order_.clear();
    elements_.reserve(elements + 1);
  }
  ~Builder() {
    // A thread keeps its lists for the next document (allocated afresh, a 10-sale document's lists
    // were page-faulted in every time: a fifth of its parse), unless a huge document grew them.
    if (elements_.capacity() > kKeptElements) {
      std::vector<Element>().swap(elements_);
      std::vector<std::uint32_t>().swap(order_);
    }
  }
  Builder(const Builder&) = delete;
  Builder& operator=(const Builder&) = delete;

  std::string run() {
    std::size_t i = 0;
    bool root = false;
    for (;;) {  // the prolog, the root element, what follows it
      const std::size_t lt = find('<', i);
      if (!onlySpace(i, lt)) return notWellFormed(b_, i, "text outside the root element");
      if (lt == n_) break;
      if (opensElement(lt)) {
        if (root) return notWellFormed(b_, lt, "more than one root element");
        root = true;
        if (auto err = element(lt, i); !err.empty()) return err;
      } else if (auto e = markup(lt, i, /*inRoot=*/false); !e.empty()) {
        return e;
      }
    }
    if (!root) return "document has no root element";
    return {};
  }

  void finish(std::vector<Node>& nodes, std::vector<Attribute>& attributes) {
    attributes = std::move(attributes_);
    nodes.resize(elements_.size());
    std::vector<std::uint32_t>& order = order_;
    order.reserve(elements_.size());
    order.push_back(0);
    for (std::size_t k = 0; k < order.size(); ++k) {
      const Element& e = elements_[order[k]];
      Node& node = nodes[k];
      node.ns = e.ns;
      node.name = e.name;
      node.text = e.text;
      node.attributes = {attributes.data() + e.firstAttribute, e.attributeCount};
      const std::size_t first = order.size();
      for (std::uint32_t c = e.firstChild; c != kNone; c = elements_[c].nextSibling) order.push_back(c);
      node.children = {nodes.data() + first, order.size() - first};
    }
  }

  std::deque<std::string>& joined() { return joined_; }

 private:
  static constexpr std::uint32_t kNone = ~std::uint32_t{0};

  // What a thread keeps between documents at most: 250,000 elements (16 MB), more than a file of
  // 200 NCR sales (about 90,000) needs; a bigger document's lists are freed after it.
  static constexpr std::size_t kKeptElements = 250'000;

  // What the tree needs of an element (64 bytes: the list of a big document stays small).
  struct Element {
    std::string_view ns, name, text;
    std::uint32_t firstAttribute = 0, attributeCount = 0;
    std::uint32_t firstChild = kNone, nextSibling = kNone;
  };
  // What an element needs only while it is open.
  struct Open {
    std::uint32_t index = kNone;
    std::uint32_t lastChild = kNone;
    std::size_t depth = 1;
    std::string_view qname;  // as written, for the end tag
    const NsDecl* scope = nullptr;
    std::string_view defaultNs;
    std::string* joined = nullptr;  // text in several pieces (split by a comment, CDATA or a child)
  };

  std::size_t find(char c, std::size_t from) const {
    const void* at = from < n_ ? std::memchr(p_ + from, c, n_ - from) : nullptr;
    return at ? static_cast<std::size_t>(static_cast<const char*>(at) - p_) : n_;
  }
  bool onlySpace(std::size_t from, std::size_t to) const {
    for (std::size_t k = from; k < to; ++k)
      if (!space(p_[k])) return false;
    return true;
  }
  bool startsWith(std::size_t at, std::string_view s) const { return std::string_view(p_ + at, n_ - at).substr(0, s.size()) == s; }

  bool opensElement(std::size_t lt) const { return lt + 1 < n_ && nameStart(static_cast<unsigned char>(p_[lt + 1])); }

  // At '<' (lt) and no start tag: a comment, PI or CDATA section is skipped (CDATA's text added to
  // the open element) and `next` set past it; an error for anything else.
  std::string markup(std::size_t lt, std::size_t& next, bool inRoot, Open* open = nullptr) {
    std::string_view close;
    std::size_t skip = 0;
    if (startsWith(lt, "<!--")) close = "-->", skip = 4;
    else if (startsWith(lt, "<?")) close = "?>", skip = 2;
    else if (startsWith(lt, "<![CDATA[")) close = "]]>", skip = 9;
    if (skip == 2 && !(lt + 2 < n_ && nameStart(static_cast<unsigned char>(p_[lt + 2])))) {
      return notWellFormed(b_, lt, "a processing instruction without a target name");
    }
    if (skip) {
      const auto end = std::string_view(p_, n_).find(close, lt + skip);
      if (end == std::string_view::npos) return notWellFormed(b_, lt, "unclosed comment, CDATA section or processing instruction");
      if (skip == 9) {
        if (!inRoot) return notWellFormed(b_, lt, "text outside the root element");
        addText(*open, decode(p_ + lt + skip, p_ + end, Content::Cdata));
      }
      next = end + close.size();
      return {};
    }
    return notWellFormed(b_, lt, "a '<' that starts no tag, comment, CDATA section or processing instruction");
  }

  void addText(Open& o, std::string_view piece) {
    Element& e = elements_[o.index];
    if (o.joined) {
      o.joined->append(piece);
      e.text = *o.joined;
    } else if (e.text.empty()) {
      e.text = piece;
    } else if (!piece.empty()) {
      o.joined = &joined_.emplace_back(e.text);
      o.joined->append(piece);
      e.text = *o.joined;
    }
  }

  std::size_t name(std::size_t i) const {
    if (i >= n_ || !nameStart(static_cast<unsigned char>(p_[i]))) return i;
    while (i < n_ && nameChar(static_cast<unsigned char>(p_[i]))) ++i;
    return i;
  }
  std::size_t skipSpace(std::size_t i) const {
    while (i < n_ && space(p_[i])) ++i;
    return i;
  }

  // The element whose start tag is at lt, with everything inside it; `next` ends up past its end tag.
  // Iterative: the open elements are a stack, so nesting costs no native stack.
  std::string element(std::size_t lt, std::size_t& next) {
    std::vector<Open> open;
    bool selfClosed = false;
    Open root;
    if (auto e = startTag(lt, next, nullptr, root, selfClosed); !e.empty()) return e;
    if (selfClosed) return {};
    open.push_back(root);
    std::size_t i = next;
    while (!open.empty()) {
      const std::size_t lt2 = find('<', i);
      if (lt2 == n_) return notWellFormed(b_, n_, "the document ends inside <" + std::string(open.back().qname.substr(0, 40)) + ">");
      if (!onlySpace(i, lt2)) addText(open.back(), decode(p_ + i, p_ + lt2, Content::Text));
      if (lt2 + 1 < n_ && p_[lt2 + 1] == '/') {
        const std::size_t end = name(lt2 + 2);
        const std::string_view qname(p_ + lt2 + 2, end - lt2 - 2);
        const std::size_t gt = skipSpace(end);
        if (qname != open.back().qname || gt >= n_ || p_[gt] != '>') {
          return notWellFormed(b_, lt2, "end tag </" + std::string(qname.substr(0, 40)) + "> does not match <" +
                                            std::string(open.back().qname.substr(0, 40)) + ">");
        }
        open.pop_back();
        i = gt + 1;
        continue;
      }
      std::size_t after = lt2;
      if (!opensElement(lt2)) {
        if (auto e = markup(lt2, after, /*inRoot=*/true, &open.back()); !e.empty()) return e;
        i = after;
        continue;
      }
      if (open.back().depth + 1 > limits_.maxDepth) {
        return "document rejected: elements nested deeper than " + std::to_string(limits_.maxDepth) + " levels";
      }
      if (elements_.size() == elements_.capacity()) return "document rejected: more elements than counted";
      Open child;
      if (auto err = startTag(lt2, after, &open.back(), child, selfClosed); !err.empty()) return err;
      if (!selfClosed) open.push_back(child);
      i = after;
    }
    next = i;
    return {};
  }

  // The start tag at lt: name, attributes, namespace declarations; a new element under `parent`.
  // `o` is filled in for the new element; its Element goes on the list.
  std::string startTag(std::size_t lt, std::size_t& next, Open* parent, Open& o, bool& selfClosed) {
    const std::size_t end = name(lt + 1);
    Element e;
    o.qname = std::string_view(p_ + lt + 1, end - lt - 1);
    if (parent) {
      o.scope = parent->scope;
      o.defaultNs = parent->defaultNs;
      o.depth = parent->depth + 1;
    }
    e.firstAttribute = static_cast<std::uint32_t>(attributes_.size());
    raw_.clear();
    std::size_t i = end;
    for (;;) {
      const std::size_t at = skipSpace(i);
      if (at >= n_) return notWellFormed(b_, lt, "unclosed start tag <" + std::string(o.qname.substr(0, 40)) + ">");
      if (p_[at] == '>' || (p_[at] == '/' && at + 1 < n_ && p_[at + 1] == '>')) {
        selfClosed = p_[at] == '/';
        next = at + (selfClosed ? 2 : 1);
        break;
      }
      if (at == i) return notWellFormed(b_, at, "malformed start tag <" + std::string(o.qname.substr(0, 40)) + ">");
      const std::size_t nameEnd = name(at);
      if (nameEnd == at) return notWellFormed(b_, at, "malformed attribute in <" + std::string(o.qname.substr(0, 40)) + ">");
      std::size_t k = skipSpace(nameEnd);
      if (k >= n_ || p_[k] != '=') return notWellFormed(b_, at, "attribute without '=' in <" + std::string(o.qname.substr(0, 40)) + ">");
      k = skipSpace(k + 1);
      if (k >= n_ || (p_[k] != '"' && p_[k] != '\'')) return notWellFormed(b_, at, "attribute value without quotes");
      const char quote = p_[k];
      std::size_t close = k + 1;
      while (close < n_ && p_[close] != quote && p_[close] != '<') ++close;
      if (close >= n_ || p_[close] != quote) return notWellFormed(b_, k, "unclosed attribute value or a '<' inside it");
      raw_.push_back({std::string_view(p_ + at, nameEnd - at), decode(p_ + k + 1, p_ + close, Content::Attribute)});
      i = close + 1;
    }
    for (const auto& a : raw_) {
      if (a.name == "xmlns") {
        o.defaultNs = a.value;
      } else if (a.name.substr(0, 6) == "xmlns:") {
        if (a.value.empty()) return fail(lt, "namespace prefix '" + std::string(a.name.substr(6, 40)) + "' declared empty");
        o.scope = &declarations_.emplace_back(NsDecl{a.name.substr(6), a.value, o.scope});
      }
    }
    std::string_view prefix;
    e.ns = o.defaultNs;
    if (!splitName(o.qname, prefix, e.name) || !resolve(prefix, o.scope, e.ns)) {
      return fail(lt, "element <" + std::string(o.qname.substr(0, 40)) + "> has an unbound or malformed namespace prefix");
    }
    for (std::size_t r = 0; r < raw_.size(); ++r) {
      const auto& a = raw_[r];
      for (std::size_t q = 0; q < r; ++q)
        if (raw_[q].name == a.name) return fail(lt, "duplicate attribute '" + std::string(a.name.substr(0, 40)) + "'");
      if (a.name == "xmlns" || a.name.substr(0, 6) == "xmlns:") continue;
      Attribute at;
      at.value = a.value;
      if (!splitName(a.name, prefix, at.name)) return fail(lt, "malformed attribute name '" + std::string(a.name.substr(0, 40)) + "'");
      if (!prefix.empty() && !resolve(prefix, o.scope, at.ns)) {
        return fail(lt, "attribute '" + std::string(a.name.substr(0, 40)) + "' has an unbound prefix");
      }
      for (std::size_t k = e.firstAttribute; k < attributes_.size(); ++k)
        if (attributes_[k].ns == at.ns && attributes_[k].name == at.name)
          return fail(lt, "duplicate attribute '" + std::string(a.name.substr(0, 40)) + "'");
      attributes_.push_back(at);
    }
    e.attributeCount = static_cast<std::uint32_t>(attributes_.size() - e.firstAttribute);
    const auto index = static_cast<std::uint32_t>(elements_.size());
    if (parent) {
      if (parent->lastChild == kNone) elements_[parent->index].firstChild = index;
      else elements_[parent->lastChild].nextSibling = index;
      parent->lastChild = index;
    }
    o.index = index;
    elements_.push_back(e);
    return {};
  }

  std::string fail(std::size_t at, const std::string& why) const { return notWellFormed(b_, at, why); }

  static bool resolve(std::string_view prefix, const NsDecl* scope, std::string_view& uri) {
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
  }

  struct Scratch {
    std::vector<Element> elements;
    std::vector<std::uint32_t> order;
  };
  static Scratch& scratch() {
    thread_local Scratch s;
    return s;
  }

  std::string_view b_;  // the caller's bytes, for error positions
  char* p_;             // our copy, decoded in place
  std::size_t n_;
  const Limits& limits_;
  std::vector<Element>& elements_;
  std::vector<std::uint32_t>& order_;
  std::vector<Attribute> attributes_;
  std::deque<NsDecl> declarations_;
  std::deque<std::string> joined_;
  struct RawAttribute {
    std::string_view name, value;
  };
  std::vector<RawAttribute> raw_;
};

}  // namespace

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
  Builder builder(b, d->bytes_, limits, scan.elements());
  if (auto e = builder.run(); !e.empty()) return fail(e);
  builder.finish(d->nodes_, d->attributes_);
  d->joined_ = std::move(builder.joined());
  return d;
}

}  // namespace aisle::pos::xml
