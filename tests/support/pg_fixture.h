#pragma once
// A fresh, migrated database per test program, on the throwaway cluster that `./aisle test` starts
// (AISLE_TEST_DB). Without it the tests skip and say why; under `./aisle test` and CI it is set.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include "aisle/common/log.h"
#include "aisle/common/migrate.h"
#include "aisle/common/pg.h"

namespace aisle::testing {


class PgDatabase {
 public:
  // Creates database `prefix_<random>` and applies every migration.
  explicit PgDatabase(const std::string& prefix, bool migrated = true) {
    const char* base = std::getenv("AISLE_TEST_DB");
    if (!base || !*base) return;
    base_ = base;
    std::random_device rd;
    name_ = prefix + "_" + std::to_string(rd() % 1000000000u);
    {
      pqxx::connection admin(base_);
      pqxx::nontransaction nt(admin);
      nt.exec("CREATE DATABASE " + admin.quote_name(name_));
    }
    url_ = withDatabase(base_, name_);
    if (migrated) {
      pqxx::connection c(url_);
      auto r = migrate(c, embeddedMigrations(), Logger("test", nullptr));
      if (!r) throw std::runtime_error(r.message());
    }
  }
  ~PgDatabase() {
    if (name_.empty()) return;
    try {
      pqxx::connection admin(base_);
      pqxx::nontransaction nt(admin);
      nt.exec("DROP DATABASE IF EXISTS " + admin.quote_name(name_) + " WITH (FORCE)");
    } catch (...) {  // the cluster is thrown away after the run anyway
    }
  }
  bool available() const { return !url_.empty(); }
  const std::string& url() const { return url_; }

  // One value of a one-row query, on a connection of its own (tests check what others committed).
  std::int64_t count(const std::string& sql) const {
    pqxx::connection c(url_);
    pqxx::read_transaction tx(c);
    return tx.exec1(sql)[0].as<std::int64_t>();
  }
  // The same as text, "NULL" for a null.
  std::string one(const std::string& sql) const {
    pqxx::connection c(url_);
    pqxx::read_transaction tx(c);
    const auto r = tx.exec1(sql);
    return r[0].is_null() ? "NULL" : r[0].as<std::string>();
  }

 private:
  std::string base_, name_, url_;
};

#define AISLE_REQUIRE_PG(db)                                                                \
  if (!(db).available()) GTEST_SKIP() << "AISLE_TEST_DB is not set: run under ./aisle test " \
                                         "(it starts a throwaway PostgreSQL)"

}  // namespace aisle::testing
