#pragma once
// The database side every PostgreSQL bench shares: a scratch database next to AISLE_DB, and the
// raw-COPY floor that the loader and the POS import are compared against.
#include <pqxx/pqxx>

#include <array>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "aisle/common/log.h"
#include "aisle/common/migrate.h"
#include "aisle/common/pg.h"

namespace aisle::bench {

// A database created next to AISLE_DB under a random name and dropped when this goes out of scope.
// Why a fresh one: a bench writes millions of rows and times empty-table behaviour, so it must
// neither see nor leave behind anything in the database it was pointed at. Why RAII: every exit
// path of a bench (figures written, exception caught, early return) must drop it.
//
// Construct it before the bench's try block: a failing CREATE DATABASE means the cluster itself is
// unusable, and is left to escape. Call migrate() inside the try block, so a bad migration is
// reported like any other bench failure and the database is still dropped.
class ScratchDatabase {
 public:
  // `prefix` names the bench (`bench_batch` -> `bench_batch_123456`), so a kept or leaked database
  // says where it came from. `keep` leaves it in place for inspection after the run.
  ScratchDatabase(std::string base, const std::string& prefix, bool keep = false)
      : base_(std::move(base)),
        prefix_(prefix),
        name_(prefix + "_" + std::to_string(std::random_device{}() % 1000000)),
        url_(withDatabase(base_, name_)),
        keep_(keep) {
    pqxx::connection admin(base_);
    pqxx::nontransaction nt(admin);  // CREATE DATABASE cannot run inside a transaction block
    nt.exec("CREATE DATABASE " + admin.quote_name(name_));
  }

  ~ScratchDatabase() {
    if (keep_) {
      std::cerr << prefix_ << ": kept database " << name_ << "\n";
      return;
    }
    try {
      pqxx::connection admin(base_);
      pqxx::nontransaction nt(admin);
      // FORCE: a bench that failed half-way may still hold connections (pools, stuck clients).
      nt.exec("DROP DATABASE IF EXISTS " + admin.quote_name(name_) + " WITH (FORCE)");
    } catch (...) {  // a leftover scratch database is harmless on a throwaway cluster
    }
  }

  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& url() const { return url_; }  // conninfo of the scratch database

  // Brings the scratch database to the current schema (the migrations embedded in the binary).
  void migrate(pqxx::connection& c) const {
    auto m = aisle::migrate(c, embeddedMigrations(), Logger("bench", nullptr));
    if (!m) throw std::runtime_error(m.message());
  }

 private:
  std::string base_;
  std::string prefix_;
  std::string name_;
  std::string url_;
  bool keep_;
};

// ---- Raw COPY: the floor for putting stored sales back into tables of the same shape.

// The columns of `transactions` and `transaction_lines` that a raw COPY writes, in the order of
// the SELECTs that fetch them (content_hash comes back as '\x..' text so COPY takes it as bytea).
inline const std::vector<std::string>& rawTransactionColumns() {
  static const std::vector<std::string> cols{"member_id",    "transaction_id", "org_id",
                                             "store_id",     "workstation_id", "business_day",
                                             "sequence_no",  "occurred_at",    "card_number",
                                             "content_hash", "total_minor",    "source"};
  return cols;
}
inline const std::vector<std::string>& rawLineColumns() {
  static const std::vector<std::string> cols{
      "member_id", "transaction_id", "line_no",        "product_id",
      "quantity",  "amount_minor",   "discount_minor", "coupon_discount_minor"};
  return cols;
}

// Creates schema `schema` with tables transactions and transaction_lines LIKE the real ones
// INCLUDING ALL (same columns, defaults, checks, keys, indexes). With `checks`, also the foreign
// keys and triggers the real tables have (LIKE copies neither), read from the catalog, so the floor
// pays the referential checks the schema pays today. A key names its tables unqualified, so keys
// are read while the real tables are visible and applied with `schema` first in the search path,
// where they land on the mirror; a trigger is moved onto the mirror's table, and its function names
// tables unqualified too, so it checks the mirror: COPY into it after useRawTables(tx, schema), in
// the same transaction.
inline void createRawTables(pqxx::work& tx, const std::string& schema, bool checks) {
  tx.exec("CREATE SCHEMA " + schema);
  std::vector<std::string> ddl;
  for (const std::string t : {"transactions", "transaction_lines"}) {
    tx.exec("CREATE TABLE " + schema + "." + t + " (LIKE public." + t + " INCLUDING ALL)");
    if (!checks) continue;
    for (const auto& row : tx.exec_params("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                          "WHERE conrelid = $1::regclass AND contype = 'f' ORDER BY conname",
                                          "public." + t))
      ddl.push_back("ALTER TABLE " + schema + "." + t + " ADD " + row[0].as<std::string>());
    for (const auto& row : tx.exec_params("SELECT pg_get_triggerdef(oid) FROM pg_trigger "
                                          "WHERE tgrelid = $1::regclass AND NOT tgisinternal ORDER BY tgname",
                                          "public." + t)) {
      std::string def = row[0].as<std::string>();  // names its table qualified: "ON public.<t> "
      const std::string on = " ON public." + t + " ";
      if (auto at = def.find(on); at != std::string::npos) def.replace(at, on.size(), " ON " + schema + "." + t + " ");
      ddl.push_back(def);
    }
  }
  tx.exec("SET LOCAL search_path TO " + schema + ", public");
  for (const auto& d : ddl) tx.exec(d);
  tx.exec("RESET search_path");
}

// Within `tx`, the unqualified names transactions and transaction_lines mean `schema`'s mirror.
inline void useRawTables(pqxx::work& tx, const std::string& schema) {
  tx.exec("SET LOCAL search_path TO " + schema + ", public");
}

// Rows as NUL-separated fields in one string each: compact, and streamed as const char* fields
// with no per-field conversion, so the timed COPY measures the server, not the client.
template <std::size_t N>
struct RawRows {
  std::vector<std::string> rows;
  std::vector<std::array<bool, N>> nulls;
};

// The result of `sql` (N text columns) held in memory, ready for copyRaw.
template <std::size_t N>
RawRows<N> fetchRaw(pqxx::connection& c, const std::string& sql) {
  RawRows<N> out;
  pqxx::read_transaction tx(c);
  for (const auto& row : tx.exec(sql)) {
    std::string s;
    std::array<bool, N> nul{};
    for (std::size_t i = 0; i < N; ++i) {
      nul[i] = row[static_cast<int>(i)].is_null();
      if (!nul[i]) s += row[static_cast<int>(i)].c_str();
      s.push_back('\0');
    }
    out.rows.push_back(std::move(s));
    out.nulls.push_back(nul);
  }
  return out;
}

// COPYs `raw` into `table` with pqxx::stream_to, the client the loader and the import use.
template <std::size_t N>
void copyRaw(pqxx::work& tx, const std::string& table, const std::vector<std::string>& columns,
             const RawRows<N>& raw) {
  pqxx::stream_to s(tx, table, columns);
  std::array<const char*, N> fields{};
  for (std::size_t r = 0; r < raw.rows.size(); ++r) {
    const char* p = raw.rows[r].c_str();
    for (std::size_t i = 0; i < N; ++i) {
      fields[i] = raw.nulls[r][i] ? nullptr : p;
      p += std::char_traits<char>::length(p) + 1;
    }
    s << fields;
  }
  s.complete();
}

}  // namespace aisle::bench
