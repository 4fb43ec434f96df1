#include "xml_tree.h"

#include <expat.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <type_traits>

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

// Expat directly (Poco's SAX layer on top of it made three std::strings per element and a vector of
// strings per attribute list: most of the parse's allocations). Limits are enforced without throwing
// through expat's C frames: the first violation is recorded and the parser stopped.
constexpr char kNsSeparator = '\x1f';  // a control character: never in a namespace URI or a name

class TreeBuilder {
 public:
  TreeBuilder(XML_Parser parser, const Limits& limits) : parser_(parser), limits_(limits) {}

  void startElement(const XML_Char* name, const XML_Char** attrs) {
    ++depth_;
    if (!error_.empty()) return;
    if (++elements_ > limits_.maxElements) {
      stop("more than " + std::to_string(limits_.maxElements) + " elements");
      return;
    }
    if (depth_ > limits_.maxDepth) {
      stop("elements nested deeper than " + std::to_string(limits_.maxDepth) + " levels");
      return;
    }
    auto node = std::make_unique<Node>();
    split(name, node->ns, node->name);
    node->line = static_cast<std::size_t>(XML_GetCurrentLineNumber(parser_));
    for (const XML_Char** a = attrs; a[0] && a[1]; a += 2) {
      Attribute& at = node->attributes.emplace_back();
      split(a[0], at.ns, at.name);
      at.value = a[1];
    }
    Node* raw = node.get();
    if (stack_.empty()) {
      node->namespaces = namespaces_;
      root_ = std::move(node);
    } else {
      stack_.back()->children.push_back(std::move(node));
    }
    stack_.push_back(raw);
  }

  void endElement() {
    if (error_.empty() && !stack_.empty()) stack_.pop_back();
    --depth_;
  }

  void characters(const XML_Char* s, int len) {
    if (!error_.empty() || stack_.empty()) return;
    stack_.back()->text.append(s, static_cast<std::size_t>(len));
  }

  void stop(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    XML_StopParser(parser_, XML_FALSE);
  }

  std::unique_ptr<Node> root_;
  std::string error_;

 private:
  // "uri<sep>local" or "local" (no namespace).
  void split(const XML_Char* qualified, std::string_view& ns, std::string_view& local) {
    const std::string_view q(qualified);
    const auto sep = q.find(kNsSeparator);
    if (sep == std::string_view::npos) {
      local = intern(q);
      return;
    }
    const std::string_view uri = q.substr(0, sep);
    if (uri != lastUri_) lastUri_ = intern(uri);  // consecutive elements nearly always share theirs
    ns = lastUri_;
    local = intern(q.substr(sep + 1));
  }

  std::string_view intern(std::string_view s) {
    if (s.empty()) return {};
    auto it = namespaces_->find(s);
    if (it == namespaces_->end()) it = namespaces_->insert(std::string(s)).first;
    return *it;
  }

  XML_Parser parser_;
  const Limits& limits_;
  std::shared_ptr<std::set<std::string, std::less<>>> namespaces_ = std::make_shared<std::set<std::string, std::less<>>>();
  std::string_view lastUri_;
  std::vector<Node*> stack_;
  std::size_t depth_ = 0;
  std::size_t elements_ = 0;
};

TreeBuilder& builderOf(void* user) { return *static_cast<TreeBuilder*>(user); }

extern "C" {
void onStart(void* user, const XML_Char* name, const XML_Char** attrs) { builderOf(user).startElement(name, attrs); }
void onEnd(void* user, const XML_Char*) { builderOf(user).endElement(); }
void onText(void* user, const XML_Char* s, int len) { builderOf(user).characters(s, len); }
// Any declaration or entity: refused outright (the byte scan before parsing already refuses DOCTYPE).
void onDoctype(void* user, const XML_Char*, const XML_Char*, const XML_Char*, int) {
  builderOf(user).stop("document has a DOCTYPE or entities; not accepted");
}
void onEntityDecl(void* user, const XML_Char*, int, const XML_Char*, int, const XML_Char*, const XML_Char*,
                  const XML_Char*, const XML_Char*) {
  builderOf(user).stop("document has a DOCTYPE or entities; not accepted");
}
void onSkippedEntity(void* user, const XML_Char* name, int) {
  builderOf(user).stop("entity reference &" + std::string(name).substr(0, 40) + "; is not allowed");
}
}

struct ParserFree {
  void operator()(XML_Parser p) const { XML_ParserFree(p); }
};

}  // namespace

Result<std::unique_ptr<Node>> parse(std::string_view b, const Limits& limits) {
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
  if (b.find("<!DOCTYPE") != std::string_view::npos || b.find("<!ENTITY") != std::string_view::npos) {
    return fail("document has a DOCTYPE; DTDs and entity declarations are not accepted");
  }

  std::unique_ptr<std::remove_pointer_t<XML_Parser>, ParserFree> parser(XML_ParserCreateNS("UTF-8", kNsSeparator));
  if (!parser) return fail("XML parser: out of memory");
  XML_Parser p = parser.get();
  TreeBuilder builder(p, limits);
  XML_SetUserData(p, &builder);
  XML_SetElementHandler(p, onStart, onEnd);
  XML_SetCharacterDataHandler(p, onText);
  XML_SetStartDoctypeDeclHandler(p, onDoctype);
  XML_SetEntityDeclHandler(p, onEntityDecl);
  XML_SetSkippedEntityHandler(p, onSkippedEntity);
  XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);  // no external entities, ever
  if (b.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return fail("document too large");
  if (XML_Parse(p, b.data(), static_cast<int>(b.size()), XML_TRUE) == XML_STATUS_ERROR && builder.error_.empty()) {
    return fail("XML is not well-formed at line " + std::to_string(XML_GetCurrentLineNumber(p)) + ", column " +
                std::to_string(XML_GetCurrentColumnNumber(p)) + ": " +
                std::string(XML_ErrorString(XML_GetErrorCode(p))).substr(0, 200));
  }
  if (!builder.error_.empty()) return fail("document rejected: " + builder.error_);
  if (!builder.root_) return fail("document has no root element");
  return std::move(builder.root_);
}

}  // namespace aisle::pos::xml
