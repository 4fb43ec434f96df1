#pragma once
// The POSLog workload of the pos-adapter benchmarks (bench_pos_ingest, bench_pos_import): sales
// built from the real NCR ACS 2.1 sample in shared/datasets/poslog (its sale transaction, with its
// tender, loyalty, reward and CRM line items kept as they are) whose one Sale line is cloned into
// `lines` Sale lines of catalogue products, and whose loyalty id is a member's real card in the
// database. Without the data set, a built-in transaction of the same shape stands in.
#include <pqxx/pqxx>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>

namespace aisle::bench {

// The sample's sale transaction, reduced, for machines without the data set.
inline constexpr const char* kBuiltinSale =
    "<Transaction><RetailStoreID>9</RetailStoreID><WorkstationID>34</WorkstationID><SequenceNumber>161</SequenceNumber>"
    "<BusinessDayDate>2017-09-30</BusinessDayDate><EndDateTime>2017-10-01T02:02:54</EndDateTime>"
    "<CurrencyCode>USD</CurrencyCode><RetailTransaction Version=\"2.1\"><ReceiptDateTime>2017-10-01T02:02:54</ReceiptDateTime>"
    "<LineItem EntryMethod=\"Keyed\"><SequenceNumber>1</SequenceNumber><Sale ItemType=\"Stock\"><POSIdentity POSIDType=\"GTIN\">"
    "<POSItemID>00000000067591</POSItemID></POSIdentity><ItemID>00000000067591</ItemID><Description>APPLE HONEYCRISP ORG</Description>"
    "<RegularSalesUnitPrice>2.99</RegularSalesUnitPrice><ExtendedAmount>1.26</ExtendedAmount><DiscountAmount>0.00</DiscountAmount>"
    "<Quantity>0.42</Quantity></Sale></LineItem>"
    "<LineItem EntryMethod=\"acs:Auto\"><SequenceNumber>3</SequenceNumber><acs:LoyaltyMembership><acs:LoyaltyID Type=\"Membership\">"
    "0000000000000040000066677</acs:LoyaltyID></acs:LoyaltyMembership></LineItem>"
    "<Total TotalType=\"TransactionGrandAmount\">1.07</Total></RetailTransaction></Transaction>";
inline constexpr const char* kBuiltinRoot =
    "<POSLog xmlns=\"http://www.nrf-arts.org/IXRetail/namespace/\" xmlns:acs=\"http://www.ncr.com/rsd/acs/tlog/markup/poslog/2.1\">";

// GTIN-14 of a 13-digit base (mod-10 check digit, weights 3,1,3... from the left).
inline std::string gtin14(std::int64_t base13) {
  std::string d = std::to_string(base13);
  d.insert(0, 13 - d.size(), '0');
  int sum = 0;
  for (int i = 0; i < 13; ++i) sum += (d[static_cast<std::size_t>(i)] - '0') * (i % 2 == 0 ? 3 : 1);
  return d + static_cast<char>('0' + (10 - sum % 10) % 10);
}
inline std::int64_t productBase(int p) { return 4'000'000'000'000 + p; }  // product p's GTIN base
inline std::string memberCard(std::int64_t m) { return std::to_string(10'000'000'000 + m); }

// Store 9 (the sample's), `members` members with one card each, `products` products with GTINs.
inline void seedCatalogAndMembers(pqxx::connection& c, std::int64_t members, int products) {
  pqxx::work tx(c);
  tx.exec("INSERT INTO stores (store_id, org_id, external_ref, name, time_zone) VALUES (1, 'default', '9', 'Store 9', "
          "'America/New_York') ON CONFLICT DO NOTHING");
  tx.exec("INSERT INTO members (member_id, external_ref) SELECT g, 'm' || g FROM generate_series(1, " +
          std::to_string(members) + ") g ON CONFLICT DO NOTHING");
  tx.exec("INSERT INTO cards (member_id, number) SELECT g, (10000000000 + g)::text FROM generate_series(1, " +
          std::to_string(members) + ") g ON CONFLICT DO NOTHING");
  std::string values;
  for (int p = 1; p <= products; ++p) {
    if (p > 1) values += ",";
    values += "(" + std::to_string(p) + ",'" + gtin14(productBase(p)) + "','product " + std::to_string(p) + "')";
  }
  tx.exec("INSERT INTO products (product_id, gtin, name) VALUES " + values + " ON CONFLICT DO NOTHING");
  tx.commit();
  pqxx::nontransaction(c).exec("ANALYZE");
}

// A store in operation has history: `transactions` earlier sales of 10 lines (business days before
// the bench's), so the tables have statistics and plans are the ones of a running system (on empty
// tables the planner picks sequential scans, and a cached plan keeps them until the next ANALYZE).
inline void seedHistory(pqxx::connection& c, std::int64_t transactions, std::int64_t members, int products) {
  pqxx::work tx(c);
  tx.exec("INSERT INTO transactions (member_id, org_id, store_id, workstation_id, business_day, sequence_no, "
          "occurred_at, card_number, content_hash, total_minor, source) "
          "SELECT g % " + std::to_string(members) + " + 1, 'default', 1, 'h' || (g % 50), "
          "date '2017-01-01' + (g / 5000)::int, g::text, timestamptz '2017-01-01 12:00Z' + (g / 5000) * interval '1 day', "
          "(10000000000 + g % " + std::to_string(members) + " + 1)::text, sha256(g::text::bytea), 1000, 'history' "
          "FROM generate_series(1, " + std::to_string(transactions) + ") g");
  tx.exec("INSERT INTO transaction_lines (member_id, transaction_id, line_no, product_id, gtin, quantity, amount_minor) "
          "SELECT t.member_id, t.transaction_id, k, p.product_id, p.gtin, 1, 100 FROM transactions t, "
          "generate_series(1, 10) k, products p WHERE t.source = 'history' AND p.product_id = "
          "(t.transaction_id * 7 + k * 131) % " + std::to_string(products) + " + 1");
  tx.commit();
  pqxx::nontransaction(c).exec("VACUUM ANALYZE");
}

class SaleGenerator {
 public:
  // `datasets`: the shared/datasets directory (may be empty or lack poslog/).
  SaleGenerator(const std::string& datasets, int lines, int products) : lines_(lines), products_(products) {
    std::string doc;
    if (!datasets.empty()) {
      std::ifstream in(datasets + "/poslog/ncr-acs-small.xml", std::ios::binary);
      doc.assign(std::istreambuf_iterator<char>(in), {});
    }
    std::string sale;
    if (!doc.empty()) {
      const auto at = doc.find("<SequenceNumber>161</SequenceNumber>");
      const auto from = at == std::string::npos ? at : doc.rfind("<Transaction>", at);
      const auto to = at == std::string::npos ? at : doc.find("</Transaction>", at);
      if (from != std::string::npos && to != std::string::npos) {
        sale = doc.substr(from, to + 14 - from);
        root_ = doc.substr(0, doc.find('>', doc.find("<POSLog")) + 1);
        fromDataset_ = true;
      }
    }
    if (sale.empty()) {
      sale = kBuiltinSale;
      root_ = kBuiltinRoot;
    }
    // header | the Sale line item | everything after it
    const auto line = sale.find("<LineItem");
    const auto saleAt = sale.find("<Sale ", line);
    const auto lineEnd = sale.find("</LineItem>", saleAt) + 11;
    header_ = sale.substr(0, line);
    saleLine_ = sale.substr(line, lineEnd - line);
    // The other line items are renumbered after the generated sale lines (line numbers stay unique).
    std::string rest = sale.substr(lineEnd);
    const std::regex seq("(<LineItem[^>]*><SequenceNumber>)([0-9]+)(</SequenceNumber>)");
    std::string renumbered;
    auto it = std::sregex_iterator(rest.begin(), rest.end(), seq);
    std::size_t last = 0;
    for (; it != std::sregex_iterator(); ++it) {
      renumbered += rest.substr(last, static_cast<std::size_t>(it->position()) - last);
      renumbered += (*it)[1].str() + std::to_string(std::stoi((*it)[2].str()) + lines_) + (*it)[3].str();
      last = static_cast<std::size_t>(it->position() + it->length());
    }
    renumbered += rest.substr(last);
    rest_ = renumbered;
    // The reward amounts the sample subtracts from its lines (its grand total minus its one line).
    rewardMinor_ = 126 - 107;
  }

  bool fromDataset() const { return fromDataset_; }
  const std::string& root() const { return root_; }

  // One sale: natural key (workstation, sequence), member m's card, `lines` products picked by
  // `variant` (the sequence when not given).
  std::string sale(const std::string& workstation, std::int64_t sequence, std::int64_t member) const {
    return sale(workstation, sequence, member, sequence);
  }
  std::string sale(const std::string& workstation, std::int64_t sequence, std::int64_t member,
                   std::int64_t variant) const {
    std::string h = header_;
    replaceFirst(h, "<WorkstationID>", "</WorkstationID>", workstation);
    replaceFirst(h, "<SequenceNumber>", "</SequenceNumber>", std::to_string(sequence));
    std::string out = h;
    std::int64_t total = 0;
    for (int i = 0; i < lines_; ++i) {
      const int p = static_cast<int>((variant * 7 + i * 131) % products_) + 1;
      const std::int64_t unit = 99 + (p * 37) % 900;  // 0.99 .. 9.98
      const int qty = 1 + (i + static_cast<int>(variant % 3)) % 3;
      const std::int64_t amount = unit * qty;
      total += amount;
      std::string l = saleLine_;
      const std::string g = gtin14(productBase(p));
      replaceFirst(l, "<SequenceNumber>", "</SequenceNumber>", std::to_string(i + 1));
      replaceFirst(l, "<POSItemID>", "</POSItemID>", g);
      replaceFirst(l, "<ItemID>", "</ItemID>", g);
      replaceFirst(l, "<RegularSalesUnitPrice>", "</RegularSalesUnitPrice>", money(unit));
      replaceFirst(l, "<ExtendedAmount>", "</ExtendedAmount>", money(amount));
      replaceFirst(l, "<Quantity>", "</Quantity>", std::to_string(qty));
      out += l;
    }
    std::string r = rest_;
    // NCR pads loyalty ids to 25 digits; the adapter strips the padding back to the card number.
    std::string card = memberCard(member);
    card.insert(0, 25 - card.size(), '0');
    replaceAll(r, "<acs:LoyaltyID Type=\"Membership\">", "</acs:LoyaltyID>", card);
    replaceAll(r, "<acs:MembershipID>", "</acs:MembershipID>", card);
    replaceFirst(r, "<Total TotalType=\"TransactionGrandAmount\">", "</Total>", money(total - rewardMinor_));
    return out + r;
  }

  std::string document(const std::string& sales) const { return root_ + sales + "</POSLog>"; }

 private:
  static std::string money(std::int64_t minor) {
    std::string cents = std::to_string(minor % 100);
    if (cents.size() < 2) cents.insert(0, "0");
    return std::to_string(minor / 100) + "." + cents;
  }
  static bool replaceFirst(std::string& s, const std::string& open, const std::string& close, const std::string& v,
                           std::size_t from = 0, std::size_t* next = nullptr) {
    const auto a = s.find(open, from);
    if (a == std::string::npos) return false;
    const auto b = s.find(close, a + open.size());
    if (b == std::string::npos) return false;
    s.replace(a + open.size(), b - a - open.size(), v);
    if (next) *next = a + open.size() + v.size();
    return true;
  }
  static void replaceAll(std::string& s, const std::string& open, const std::string& close, const std::string& v) {
    std::size_t at = 0;
    while (replaceFirst(s, open, close, v, at, &at)) {
    }
  }

  int lines_;
  int products_;
  bool fromDataset_ = false;
  std::string root_, header_, saleLine_, rest_;
  std::int64_t rewardMinor_ = 0;
};

inline std::string datasetsDir() {
  const char* d = std::getenv("AISLE_DATASETS");
  return d && *d ? d : std::string(AISLE_SOURCE_DIR "/../shared/datasets");
}

}  // namespace aisle::bench
