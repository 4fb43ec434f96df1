// The XML layer under POSLog, the adapter's own parser: what XML requires of a document, and what it
// refuses. Most of the ill-formed cases below are documents pugixml (the parser before it) accepted.
#include "xml_tree.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace aisle::pos::xml {
namespace {

const Limits kLimits{1 << 20, 40, 10'000};

std::string errorOf(const std::string& doc, const Limits& limits = kLimits) {
  auto r = parse(doc, limits);
  return r ? std::string() : r.message();
}

TEST(XmlTree, ResolvesDefaultAndPrefixedNamespacesAndReadsTextAndAttributes) {
  auto d = parse(
      "<?xml version=\"1.0\"?><r xmlns=\"urn:a\" xmlns:b=\"urn:b\"><!-- c --><x b:k=\"1\" k=\"&lt;2&gt;\">t&amp;"
      "<![CDATA[<u>]]>&#x41;</x><b:y xmlns=\"urn:c\"><z/></b:y></r>",
      kLimits);
  ASSERT_TRUE(d) << d.message();
  const Node& r = (*d)->root();
  EXPECT_EQ(r.ns, "urn:a");
  EXPECT_EQ(r.name, "r");
  ASSERT_EQ(r.children.size(), 2u);
  const Node& x = r.children.begin()[0];
  EXPECT_EQ(x.ns, "urn:a");
  EXPECT_EQ(x.text, "t&<u>A");  // entities, CDATA and a character reference, joined
  ASSERT_EQ(x.attributes.size(), 2u);
  EXPECT_EQ(x.attributes.begin()[0].ns, "urn:b");
  EXPECT_EQ(x.attributes.begin()[0].name, "k");
  EXPECT_EQ(x.attributes.begin()[1].ns, "");  // an unprefixed attribute is in no namespace
  EXPECT_EQ(x.attributes.begin()[1].value, "<2>");
  const Node& y = r.children.begin()[1];
  EXPECT_EQ(y.ns, "urn:b");
  EXPECT_EQ(y.name, "y");
  ASSERT_EQ(y.children.size(), 1u);
  EXPECT_EQ(y.children.begin()->ns, "urn:c");  // redeclared default namespace
}

TEST(XmlTree, DocumentsXmlForbidsAreRefusedAsNotWellFormedWithTheirReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"<r>&nbsp;</r>", "undefined entity"},
      {"<r>fish & chips</r>", "bare '&'"},
      {"<r a=\"&bogus;\"/>", "undefined entity"},
      {"<r>&#1;</r>", "invalid character"},
      {"<r>&#xD800;</r>", "invalid character"},
      {"<r>&#x110000;</r>", "invalid character"},
      {"<r>\x01</r>", "U+0001"},
      {"<r>\xC3</r>", "UTF-8"},
      {"<r>\xC0\xAF</r>", "UTF-8"},          // overlong '/'
      {"<r>\xED\xA0\x80</r>", "surrogate"},  // U+D800 encoded
      {"<r>\xEF\xBF\xBF</r>", "U+FFFF"},
      {"<r><!-- \x02 --></r>", "U+0002"},    // comments are checked too
      {"<r a=\"1\" a=\"2\"/>", "duplicate attribute"},
      {"<r xmlns:p=\"urn:x\" xmlns:q=\"urn:x\" p:a=\"1\" q:a=\"2\"/>", "duplicate attribute"},
      {"<p:r/>", "unbound"},
      {"<r q:a=\"1\"/>", "unbound"},
      {"<r xmlns:p=\"\"/>", "declared empty"},
      {"<r/><r/>", "more than one root"},
      {"<r/>text", "text outside"},
      {"<r><!-- never closed </r>", "unclosed comment"},
      {"<r><a></r>", "does not match"},
      {"<r a=\"x<y\"/>", "'<' inside"},
      {"<r a=\"1\"b=\"2\"/>", "malformed start tag"},
      {"<r a=1/>", "without quotes"},
      {"<r a/>", "without '='"},
      {"<r/>trailing", "text outside"},
      {"<r/><![CDATA[x]]>", "text outside"},
      {"<? x?><r/>", "without a target"},
      {"<r></ r>", "does not match"},
      {"<r><a>", "ends inside <a>"},
      {"<r>< a/></r>", "starts no tag"},
  };
  for (const auto& [doc, why] : cases) {
    const std::string e = errorOf(doc);
    EXPECT_NE(e.find("not well-formed"), std::string::npos) << doc << ": " << e;
    EXPECT_NE(e.find(why), std::string::npos) << doc << ": " << e;
  }
}

TEST(XmlTree, LineEndsAttributeWhitespaceAndReferencesAreNormalizedAndSpaceOnlyTextDropped) {
  auto d = parse("<?xml version='1.0'?>\r\n<r a='x\r\ny\tz&#10;' b=\"&apos;&quot;\">\r\n  <c>1\r\n2\r3</c>\n"
                 "  <d>&#x20AC;&#233;<![CDATA[&amp;\r\n]]></d>\n</r>\n",
                 kLimits);
  ASSERT_TRUE(d) << d.message();
  const Node& r = (*d)->root();
  EXPECT_EQ(r.text, "");  // indentation only
  ASSERT_EQ(r.attributes.size(), 2u);
  EXPECT_EQ(r.attributes.begin()[0].value, "x y z\n");  // a reference keeps its newline
  EXPECT_EQ(r.attributes.begin()[1].value, "'\"");
  ASSERT_EQ(r.children.size(), 2u);
  EXPECT_EQ(r.children.begin()[0].text, "1\n2\n3");
  EXPECT_EQ(r.children.begin()[1].text, "\xE2\x82\xAC\xC3\xA9&amp;\n");  // CDATA is not decoded
}

TEST(XmlTree, ChildrenOfEveryElementAreContiguousAndInDocumentOrder) {
  auto d = parse("<r><a><a1/><a2>x</a2></a><b/><c><c1/></c></r>", kLimits);
  ASSERT_TRUE(d) << d.message();
  std::string seen;
  auto walk = [&](const Node& n, auto&& self) -> void {
    seen += std::string(n.name) + "(";
    for (const Node& c : n.children) self(c, self);
    seen += ")";
  };
  walk((*d)->root(), walk);
  EXPECT_EQ(seen, "r(a(a1()a2())b()c(c1()))");
}

TEST(XmlTree, AmpersandsAndAngleBracketsInsideCommentsCdataAndPisAreFine) {
  auto d = parse("<r><!-- a & b < c --><?pi x & y?><![CDATA[ & < ]]></r>", kLimits);
  ASSERT_TRUE(d) << d.message();
  EXPECT_EQ((*d)->root().text, " & < ");
}

TEST(XmlTree, ADoctypeAnywhereIsRefusedBeforeAnythingIsParsed) {
  EXPECT_NE(errorOf("<!DOCTYPE r [<!ENTITY a \"b\">]><r>&a;</r>").find("DOCTYPE"), std::string::npos);
  EXPECT_NE(errorOf("<r><!ENTITY a \"b\"></r>").find("DOCTYPE"), std::string::npos);
}

TEST(XmlTree, ElementCountIsBoundedBeforeTheTreeIsBuiltAndDepthWhileItIs) {
  std::string wide = "<r>";
  for (int i = 0; i < 20; ++i) wide += "<x/>";
  wide += "</r>";
  EXPECT_NE(errorOf(wide, {1 << 20, 40, 10}).find("more than 10 elements"), std::string::npos);
  EXPECT_TRUE(parse(wide, {1 << 20, 40, 21}));
  std::string deep;
  for (int i = 0; i < 50; ++i) deep += "<d>";
  for (int i = 0; i < 50; ++i) deep += "</d>";
  EXPECT_NE(errorOf(deep, {1 << 20, 40, 100}).find("deeper than 40"), std::string::npos);
  EXPECT_TRUE(parse(deep, {1 << 20, 50, 100}));
}

TEST(XmlTree, AValidUtf8DocumentWithNonAsciiTextParses) {
  auto d = parse("<r>J\xC3\xBCrgen \xE2\x82\xAC \xF0\x9F\x9B\x92</r>", kLimits);
  ASSERT_TRUE(d) << d.message();
  EXPECT_EQ((*d)->root().text, "J\xC3\xBCrgen \xE2\x82\xAC \xF0\x9F\x9B\x92");
}

}  // namespace
}  // namespace aisle::pos::xml
