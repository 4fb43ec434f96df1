#pragma once
// A small element tree built with expat (directly) under hard limits, for untrusted XML from tills.
// Hardening, in order: size limit; UTF-8 only (a UTF-16 document would hide "<!DOCTYPE" from the
// byte scan); any DOCTYPE refused before parsing (no DTD means no entity declarations, so neither
// billion-laughs expansion nor external entities/XXE are possible); external entities switched off
// in the parser as a second line; depth and element-count limits enforced while parsing.
#include <cstddef>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "aisle/common/result.h"

namespace aisle::pos::xml {

// Namespace URIs and local names are views into one set per document, kept alive by the root: a POSLog
// document has a handful of long URIs and a hundred names on thousands of elements, and a string each
// was most of the parser's allocations.
struct Attribute {
  std::string_view ns;
  std::string_view name;  // local name (see above)
  std::string value;
};

struct Node {
  std::string_view ns;    // namespace URI (see Attribute)
  std::string_view name;  // local name (see Attribute)
  std::vector<Attribute> attributes;
  std::string text;  // character data directly inside this element
  std::vector<std::unique_ptr<Node>> children;
  std::size_t line = 0;
  std::shared_ptr<const std::set<std::string, std::less<>>> namespaces;  // the root's: what `ns` and `name` view
};

struct Limits {
  std::size_t maxBytes = 0;
  std::size_t maxDepth = 0;
  std::size_t maxElements = 0;
};

Result<std::unique_ptr<Node>> parse(std::string_view bytes, const Limits& limits);

}  // namespace aisle::pos::xml
