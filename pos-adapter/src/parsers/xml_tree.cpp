#include "xml_tree.h"

#include <Poco/Exception.h>
#include <Poco/SAX/Attributes.h>
#include <Poco/SAX/ContentHandler.h>
#include <Poco/SAX/LexicalHandler.h>
#include <Poco/SAX/Locator.h>
#include <Poco/SAX/SAXException.h>
#include <Poco/SAX/SAXParser.h>
#include <Poco/XML/XMLString.h>

#include <algorithm>
#include <cctype>

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

// Limits are enforced without throwing through expat's C frames: the first violation is recorded and
// the rest of the document is only scanned (already bounded by the size limit).
class TreeBuilder final : public Poco::XML::ContentHandler {
 public:
  explicit TreeBuilder(const Limits& limits) : limits_(limits) {}

  void setDocumentLocator(const Poco::XML::Locator* loc) override { locator_ = loc; }
  void startDocument() override {}
  void endDocument() override {}
  void startPrefixMapping(const Poco::XML::XMLString&, const Poco::XML::XMLString&) override {}
  void endPrefixMapping(const Poco::XML::XMLString&) override {}
  void ignorableWhitespace(const Poco::XML::XMLChar*, int, int) override {}
  void processingInstruction(const Poco::XML::XMLString&, const Poco::XML::XMLString&) override {}
  void skippedEntity(const Poco::XML::XMLString& name) override {
    if (error_.empty()) error_ = "entity reference &" + name.substr(0, 40) + "; is not allowed";
  }

  void startElement(const Poco::XML::XMLString& uri, const Poco::XML::XMLString& localName,
                    const Poco::XML::XMLString&, const Poco::XML::Attributes& attrs) override {
    ++depth_;
    if (!error_.empty()) return;
    if (++elements_ > limits_.maxElements) {
      error_ = "more than " + std::to_string(limits_.maxElements) + " elements";
      return;
    }
    if (depth_ > limits_.maxDepth) {
      error_ = "elements nested deeper than " + std::to_string(limits_.maxDepth) + " levels";
      return;
    }
    auto node = std::make_unique<Node>();
    node->ns = intern(uri);
    node->name = localName;
    node->line = locator_ ? static_cast<std::size_t>(locator_->getLineNumber()) : 0;
    for (int i = 0; i < attrs.getLength(); ++i) {
      node->attributes.push_back({intern(attrs.getURI(i)), attrs.getLocalName(i), attrs.getValue(i)});
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

  void endElement(const Poco::XML::XMLString&, const Poco::XML::XMLString&,
                  const Poco::XML::XMLString&) override {
    if (error_.empty() && !stack_.empty()) stack_.pop_back();
    --depth_;
  }

  void characters(const Poco::XML::XMLChar ch[], int start, int length) override {
    if (!error_.empty() || stack_.empty()) return;
    stack_.back()->text.append(ch + start, static_cast<std::size_t>(length));
  }

  std::unique_ptr<Node> root_;
  std::string error_;

 private:
  std::string_view intern(const std::string& uri) {
    if (uri.empty()) return {};
    auto it = namespaces_->find(uri);
    if (it == namespaces_->end()) it = namespaces_->insert(uri).first;
    return *it;
  }

  const Limits& limits_;
  std::shared_ptr<std::set<std::string, std::less<>>> namespaces_ = std::make_shared<std::set<std::string, std::less<>>>();
  const Poco::XML::Locator* locator_ = nullptr;
  std::vector<Node*> stack_;
  std::size_t depth_ = 0;
  std::size_t elements_ = 0;
};

// Any declaration or entity in the prolog: refused outright.
class NoDtd final : public Poco::XML::LexicalHandler {
 public:
  void startDTD(const Poco::XML::XMLString&, const Poco::XML::XMLString&, const Poco::XML::XMLString&) override {
    seen = true;
  }
  void endDTD() override {}
  void startEntity(const Poco::XML::XMLString&) override { seen = true; }
  void endEntity(const Poco::XML::XMLString&) override {}
  void startCDATA() override {}
  void endCDATA() override {}
  void comment(const Poco::XML::XMLChar[], int, int) override {}
  bool seen = false;
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

  TreeBuilder builder(limits);
  NoDtd noDtd;
  Poco::XML::SAXParser parser("UTF-8");
  parser.setFeature(Poco::XML::XMLReader::FEATURE_NAMESPACES, true);
  parser.setFeature(Poco::XML::XMLReader::FEATURE_NAMESPACE_PREFIXES, false);
  parser.setFeature(Poco::XML::XMLReader::FEATURE_EXTERNAL_GENERAL_ENTITIES, false);
  parser.setFeature(Poco::XML::XMLReader::FEATURE_EXTERNAL_PARAMETER_ENTITIES, false);
  parser.setContentHandler(&builder);
  parser.setProperty(Poco::XML::XMLReader::PROPERTY_LEXICAL_HANDLER,
                     static_cast<Poco::XML::LexicalHandler*>(&noDtd));
  try {
    parser.parseMemoryNP(b.data(), b.size());
  } catch (const Poco::XML::SAXParseException& e) {
    return fail("XML is not well-formed at line " + std::to_string(e.getLineNumber()) + ", column " +
                std::to_string(e.getColumnNumber()) + ": " + e.message().substr(0, 200));
  } catch (const Poco::Exception& e) {
    return fail("XML parse failed: " + e.displayText().substr(0, 200));
  }
  if (noDtd.seen) return fail("document has a DOCTYPE or entities; not accepted");
  if (!builder.error_.empty()) return fail("document rejected: " + builder.error_);
  if (!builder.root_) return fail("document has no root element");
  return std::move(builder.root_);
}

}  // namespace aisle::pos::xml
