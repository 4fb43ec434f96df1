#pragma once
// A small, read-only element tree for untrusted XML from tills, built under hard limits.
//
// Our own parser, in two passes over the bytes and in place: no DTD, no entity but the five predefined
// ones and character references, nothing read from anywhere but the document. It replaced pugixml,
// whose own parse was a small part of the cost: walking its tree into ours through out-of-line
// accessors and strlen was most of it (bench_pos_parse). What XML requires is checked:
//  - before anything is built: size limit; UTF-8 only (a UTF-16 document would hide "<!DOCTYPE" from
//    the byte scan); any DOCTYPE or entity declaration refused (no DTD: neither billion-laughs
//    expansion nor external entities/XXE are possible); one scan that validates UTF-8, refuses
//    characters XML forbids (raw or as &#..; references), refuses undefined entity references and
//    bare '&', and bounds the element count before anything is allocated;
//  - while building: tags well-formed and matched, attributes quoted (no '<' inside), namespaces
//    resolved (an unbound prefix is an error), duplicate attributes refused, exactly one root element
//    and no text outside it, depth and element-count limits. Line ends and attribute whitespace are
//    normalized and references expanded as XML says; whitespace-only text between elements is dropped.
// The tree views the document's bytes: Nodes live as long as their Document.
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aisle/common/result.h"

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

// Owns the bytes and the Nodes that view them.
class Document {
 public:
  Document() = default;
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;
  const Node& root() const { return nodes_.front(); }

 private:
  friend Result<std::unique_ptr<Document>> parse(std::string_view bytes, const Limits& limits);
  std::string bytes_;                      // parsed (and decoded) in place
  std::vector<Node> nodes_;                // breadth first: each node's children are contiguous
  std::vector<Attribute> attributes_;
  std::deque<std::string> joined_;         // text split by comments or CDATA, joined (rare)
};

Result<std::unique_ptr<Document>> parse(std::string_view bytes, const Limits& limits);

}  // namespace aisle::pos::xml
