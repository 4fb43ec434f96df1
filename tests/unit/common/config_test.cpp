#include "aisle/common/config.h"

#include <gtest/gtest.h>

namespace aisle {
namespace {

struct DemoConfig {
  std::string storeId;
  std::int64_t port = 8080;
  std::chrono::milliseconds dwell{30000};
  bool tls = false;
  std::vector<std::string> zones;
  std::string fsync = "batch";
};

Result<DemoConfig> readDemo(std::string_view text) {
  auto file = ConfigFile::parse(text, "gw.conf");
  if (!file) return file.error();
  DemoConfig c;
  ConfigReader r(*file);
  r.string("store_id", c.storeId, true);
  r.integer("http.port", c.port, 1, 65535);
  r.duration("zones.dwell", c.dwell, std::chrono::seconds(1), std::chrono::hours(1));
  r.boolean("http.tls", c.tls);
  r.stringList("zones.names", c.zones);
  r.choice("spool.fsync", c.fsync, {"always", "batch", "never"});
  auto st = r.finish();
  if (!st) return st.error();
  return c;
}

}  // namespace

TEST(Config, ReadsTypedValuesFromSections) {
  auto c = readDemo(
      "store_id = \"s-12\"  # comment\n"
      "[http]\nport = 9000\ntls = true\n"
      "[zones]\ndwell = \"45s\"\nnames = [\"entrance\", \"dairy\"]\n"
      "[spool]\nfsync = \"always\"\n");
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->storeId, "s-12");
  EXPECT_EQ(c->port, 9000);
  EXPECT_TRUE(c->tls);
  EXPECT_EQ(c->dwell, std::chrono::seconds(45));
  EXPECT_EQ(c->zones, (std::vector<std::string>{"entrance", "dairy"}));
  EXPECT_EQ(c->fsync, "always");
}

TEST(Config, KeepsDefaultsForAbsentKeys) {
  auto c = readDemo("store_id = \"s\"\n");
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->port, 8080);
  EXPECT_EQ(c->dwell, std::chrono::seconds(30));
}

TEST(Config, ReportsOutOfRangeValueWithFileAndLine) {
  auto c = readDemo("store_id = \"s\"\n\n[http]\nport = 70000\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.message(), "gw.conf:4: http.port: '70000' is out of range [1, 65535]");
}

TEST(Config, ReportsEveryProblemNotJustTheFirst) {
  auto c = readDemo("[http]\nport = x\ntls = yes\n[spool]\nfsync = \"sometimes\"\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.message().find("gw.conf:0: store_id: required but missing"), std::string::npos) << c.message();
  EXPECT_NE(c.message().find("gw.conf:2: http.port: 'x' is not a number"), std::string::npos) << c.message();
  EXPECT_NE(c.message().find("gw.conf:3: http.tls: expected true or false"), std::string::npos) << c.message();
  EXPECT_NE(c.message().find("gw.conf:5: spool.fsync: 'sometimes' is not one of: always, batch, never"),
            std::string::npos) << c.message();
}

TEST(Config, ReportsUnknownKeysSoTyposAreNotIgnored) {
  auto c = readDemo("store_id = \"s\"\n[http]\nprot = 9000\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.message(), "gw.conf:3: http.prot: unknown key");
}

TEST(Config, ReportsSyntaxErrorsWithFileAndLine) {
  EXPECT_EQ(ConfigFile::parse("a = 1\nthis is not config\n", "x.conf").message(),
            "x.conf:2: expected 'key = value', got 'this is not config'");
  EXPECT_EQ(ConfigFile::parse("a = \"open\n", "x.conf").message(), "x.conf:1: a: unterminated string");
  EXPECT_EQ(ConfigFile::parse("[a\n", "x.conf").message(), "x.conf:1: malformed section header '[a'");
  EXPECT_EQ(ConfigFile::parse("a = 1\na = 2\n", "x.conf").message(), "x.conf:2: duplicate key 'a'");
}

TEST(Config, ReportsBadDurationsWithTheirUnits) {
  auto c = readDemo("store_id = \"s\"\n[zones]\ndwell = \"10 parsecs\"\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.message().find("gw.conf:3: zones.dwell:"), std::string::npos) << c.message();
  EXPECT_TRUE(parseDuration("250ms").ok());
  EXPECT_EQ(*parseDuration("2h"), std::chrono::hours(2));
  EXPECT_FALSE(parseDuration("5").ok());
}

TEST(Config, HashInsideQuotedStringIsNotAComment) {
  auto f = ConfigFile::parse("url = \"https://x/#frag\" # real comment\n", "x");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->find("url")->text, "https://x/#frag");
}

TEST(Config, MissingFileIsAClearError) {
  EXPECT_EQ(ConfigFile::load("/nonexistent/aisle.conf").message(),
            "/nonexistent/aisle.conf: cannot open configuration file");
}

}  // namespace aisle
