#include <gtest/gtest.h>

#include "aisle/common/pg.h"
#include "pg_fixture.h"

namespace aisle {
namespace {

// Ends every other backend of this database, as a server restart or failover would.
void killOtherBackends(const std::string& url) {
  pqxx::connection admin(url);
  pqxx::nontransaction nt(admin);
  nt.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
          "WHERE datname = current_database() AND pid <> pg_backend_pid()");
}

}  // namespace

TEST(PgSession, ReconnectsAndReplaysPerConnectionSetupAfterTheServerDropsIt) {
  testing::PgDatabase db("pg_session");
  AISLE_REQUIRE_PG(db);
  auto sink = std::make_shared<MemorySink>();
  PgSession session(db.url(), Logger("test", sink), PgRetry{5, std::chrono::milliseconds(1), std::chrono::milliseconds(5)});
  int setups = 0;
  session.onConnect([&](pqxx::connection& c) {
    ++setups;
    c.prepare("add", "SELECT $1::int + 1");
  });
  auto addOne = [&](int x) {
    return session.run([&](pqxx::connection& c) {
      pqxx::work tx(c);
      const int r = tx.exec_prepared1("add", x)[0].as<int>();
      tx.commit();
      return r;
    });
  };
  EXPECT_EQ(addOne(1), 2);
  EXPECT_EQ(setups, 1);

  killOtherBackends(db.url());
  EXPECT_EQ(addOne(41), 42);  // the broken connection is noticed, reopened and prepared again
  EXPECT_EQ(setups, 2);
  bool warned = false;
  for (const auto& l : sink->lines()) warned |= l.find("database connection lost") != std::string::npos;
  EXPECT_TRUE(warned) << "a lost connection must be logged";
}

TEST(PgSession, GivesUpAfterTheConfiguredAttemptsWhenTheServerStaysAway) {
  PgSession session("host=/nonexistent-socket-dir port=1 user=x dbname=x connect_timeout=1", Logger("t", nullptr),
                    PgRetry{3, std::chrono::milliseconds(1), std::chrono::milliseconds(2)});
  int calls = 0;
  EXPECT_THROW(session.run([&](pqxx::connection&) { return ++calls; }), pqxx::broken_connection);
  EXPECT_EQ(calls, 0);  // never reached: every attempt failed to connect
}

TEST(PgSession, DatabaseUrlComesFromAisleDbBeforeTheConfig) {
  ::setenv("AISLE_DB", "host=/tmp dbname=from_env", 1);
  EXPECT_EQ(databaseUrl("dbname=from_config"), "host=/tmp dbname=from_env");
  ::unsetenv("AISLE_DB");
  EXPECT_EQ(databaseUrl("dbname=from_config"), "dbname=from_config");
}

}  // namespace aisle
