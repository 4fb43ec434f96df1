#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <fstream>
#include <future>
#include <set>
#include <sstream>

#include "aisle/common/migrate.h"
#include "pg_fixture.h"

namespace aisle {
namespace {

using testing::PgDatabase;

std::set<std::string> tablesWithMemberId(pqxx::connection& c) {
  // Ordinary and partitioned tables only; a partition inherits its parent's keys.
  std::set<std::string> out;
  pqxx::read_transaction tx(c);
  for (const auto& row : tx.exec(
           "SELECT cl.relname FROM pg_attribute a JOIN pg_class cl ON cl.oid = a.attrelid "
           "JOIN pg_namespace n ON n.oid = cl.relnamespace "
           "WHERE n.nspname = 'public' AND a.attname = 'member_id' AND NOT a.attisdropped "
           "AND cl.relkind IN ('r', 'p') AND NOT cl.relispartition")) {
    out.insert(row[0].as<std::string>());
  }
  return out;
}

}  // namespace

TEST(Schema, EveryTableWithMemberIdHasItInItsPrimaryKeyAndEveryUniqueConstraint) {
  PgDatabase db("schema_citus");
  AISLE_REQUIRE_PG(db);
  pqxx::connection c(db.url());
  const auto tables = tablesWithMemberId(c);
  ASSERT_GE(tables.size(), 15u) << "expected the member-owned tables of v1";

  pqxx::read_transaction tx(c);
  for (const auto& t : tables) {
    // Primary key present and containing member_id.
    const auto pk = tx.exec_params(
        "SELECT bool_or(a.attname = 'member_id') FROM pg_index i "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = $1::regclass AND i.indisprimary",
        t);
    EXPECT_TRUE(!pk[0][0].is_null() && pk[0][0].as<bool>()) << t << ": primary key lacks member_id";
    // Every unique index (constraints and CREATE UNIQUE INDEX alike) must contain member_id.
    for (const auto& row : tx.exec_params(
             "SELECT ci.relname, bool_or(a.attname = 'member_id') FROM pg_index i "
             "JOIN pg_class ci ON ci.oid = i.indexrelid "
             "LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
             "WHERE i.indrelid = $1::regclass AND i.indisunique GROUP BY ci.relname",
             t)) {
      EXPECT_TRUE(!row[1].is_null() && row[1].as<bool>())
          << t << ": unique index " << row[0].as<std::string>() << " lacks member_id";
    }
  }
}

TEST(Schema, CitusScriptDistributesEveryMemberOwnedTableByMemberId) {
  PgDatabase db("schema_citus_script");
  AISLE_REQUIRE_PG(db);
  pqxx::connection c(db.url());
  std::ifstream in(std::string(AISLE_SOURCE_DIR) + "/sql/citus.sql");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string script = ss.str();
  for (const auto& t : tablesWithMemberId(c)) {
    EXPECT_NE(script.find("create_distributed_table('" + t + "', 'member_id'"), std::string::npos)
        << t << " is member-owned but sql/citus.sql does not distribute it";
  }
}

TEST(Schema, MoneyColumnsAreNeverFloatingPoint) {
  PgDatabase db("schema_money");
  AISLE_REQUIRE_PG(db);
  pqxx::connection c(db.url());
  pqxx::read_transaction tx(c);
  const auto r = tx.exec(
      "SELECT table_name || '.' || column_name FROM information_schema.columns "
      "WHERE table_schema = 'public' AND (column_name LIKE '%minor%' OR column_name LIKE '%amount%' "
      "OR column_name LIKE '%price%' OR column_name = 'quantity') "
      "AND data_type IN ('real', 'double precision')");
  for (const auto& row : r) ADD_FAILURE() << row[0].as<std::string>() << " is floating point";
}

TEST(Migrator, IsIdempotentAndRecordsEachVersionOnce) {
  PgDatabase db("schema_idem");
  AISLE_REQUIRE_PG(db);
  pqxx::connection c(db.url());
  auto again = migrate(c, embeddedMigrations(), Logger("t", nullptr));
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(again->applied, 0);
  EXPECT_EQ(again->current, embeddedMigrations().back().version);
  pqxx::read_transaction tx(c);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM schema_migrations")[0].as<std::size_t>(), embeddedMigrations().size());
}

TEST(Migrator, TwoServicesMigratingAtOnceApplyEachMigrationExactlyOnce) {
  PgDatabase db("schema_race", /*migrated=*/false);
  AISLE_REQUIRE_PG(db);
  auto run = [&] {
    pqxx::connection c(db.url());
    return migrate(c, embeddedMigrations(), Logger("t", nullptr));
  };
  auto a = std::async(std::launch::async, run);
  auto b = std::async(std::launch::async, run);
  auto ra = a.get();
  auto rb = b.get();
  ASSERT_TRUE(ra.ok()) << ra.message();
  ASSERT_TRUE(rb.ok()) << rb.message();
  EXPECT_EQ(ra->applied + rb->applied, static_cast<int>(embeddedMigrations().size()));
  EXPECT_EQ(ra->current, rb->current);
}

TEST(Migrator, AFailingMigrationIsRolledBackAndReported) {
  PgDatabase db("schema_fail");
  AISLE_REQUIRE_PG(db);
  pqxx::connection c(db.url());
  std::vector<Migration> ms = embeddedMigrations();
  ms.push_back({9999, "broken", "CREATE TABLE half_done (x int); SELECT no_such_function();"});
  auto r = migrate(c, ms, Logger("t", nullptr));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("no_such_function"), std::string::npos) << r.message();
  pqxx::read_transaction tx(c);
  EXPECT_TRUE(tx.exec1("SELECT to_regclass('half_done') IS NULL")[0].as<bool>());
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM schema_migrations WHERE version = 9999")[0].as<int>(), 0);
}

TEST(Schema, ProximityEventsArePartitionedByDayAndOldDaysDrop) {
  PgDatabase db("schema_parts");
  AISLE_REQUIRE_PG(db);
  pqxx::connection c(db.url());
  pqxx::work tx(c);
  EXPECT_EQ(tx.exec1("SELECT ensure_proximity_partitions('2026-01-01', 3)")[0].as<int>(), 3);
  EXPECT_EQ(tx.exec1("SELECT ensure_proximity_partitions('2026-01-01', 3)")[0].as<int>(), 0);
  tx.exec("INSERT INTO stores VALUES (1, 'default', 's1', 'Store 1', 'America/New_York')");
  tx.exec("INSERT INTO members (member_id) VALUES (42)");
  tx.exec("INSERT INTO proximity_events (member_id, event_id, occurred_at, type, store_id) "
          "VALUES (42, 'e1', '2026-01-02 10:00+00', 'enter', 1)");
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM proximity_events_20260102")[0].as<int>(), 1);
  EXPECT_EQ(tx.exec1("SELECT drop_proximity_partitions_before('2026-01-03')")[0].as<int>(), 2);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM proximity_events")[0].as<int>(), 0);
}

}  // namespace aisle
