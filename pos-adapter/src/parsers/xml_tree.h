#pragma once
// A small, read-only element tree for untrusted XML from tills, built under hard limits.
//
// pugixml parses (in place, into its own arena: about 20x faster than expat building a tree of
// std::strings, which was most of the ingest service's CPU); pugixml is a non-validating parser, so
// everything XML requires and it does not check is checked here, before or after it runs:
//  - before: size limit; UTF-8 only (a UTF-16 document would hide "<!DOCTYPE" from the byte scan);
//    any DOCTYPE or entity declaration refused (no DTD: neither billion-laughs expansion nor external
//    entities/XXE are possible, and pugixml never reads files or expands anything but the five
//    predefined entities and character references); one scan that validates UTF-8, refuses characters
//    XML forbids (raw or as &#..; references), refuses undefined entity references and bare '&', and
//    bounds the element count before anything is allocated;
//  - after: namespaces resolved (an unbound prefix is an error), duplicate attributes refused, exactly
//    one root element, depth and element-count limits.
// The tree views the document's bytes: Nodes live as long as their Document.
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aisle/common/result.h"

namespace pugi {
class xml_document;
}

namespace aisle::pos::xml {

struct Attribute {
  std::string_view ns;    // namespace URI; empty for an unprefixed attribute
  std::string_view name;  // local name
  std::string_view value;
};

struct Node;

// A contiguous run of a node's attributes or children, iterable like a vector.
template <class T>
struct Range {
  const T* first = nullptr;
  std::size_t count = 0;
  const T* begin() const { return first; }
  const T* end() const { return first + count; }
  std::size_t size() const { return count; }
  bool empty() const { return count == 0; }
};

struct Node {
  std::string_view ns;    // namespace URI; empty when the element is in no namespace
  std::string_view name;  // local name
  std::string_view text;  // character data directly inside this element (CDATA included)
  Range<Attribute> attributes;
  Range<Node> children;
};

struct Limits {
  std::size_t maxBytes = 0;
  std::size_t maxDepth = 0;
  std::size_t maxElements = 0;
};

// Owns the bytes, pugixml's tree and the Nodes that view them.
class Document {
 public:
  Document();
  ~Document();
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;
  const Node& root() const { return nodes_.front(); }

 private:
  friend Result<std::unique_ptr<Document>> parse(std::string_view bytes, const Limits& limits);
  std::string bytes_;                      // parsed in place by pugixml
  std::unique_ptr<pugi::xml_document> doc_;
  std::vector<Node> nodes_;                // breadth first: each node's children are contiguous
  std::vector<Attribute> attributes_;
  std::deque<std::string> joined_;         // text split by comments or CDATA, joined (rare)
};

Result<std::unique_ptr<Document>> parse(std::string_view bytes, const Limits& limits);

}  // namespace aisle::pos::xml
