// `load completejourney DIR`: the Complete Journey 2 data set (84.51°) as members, cards, stores,
// categories, products, campaigns with their products and members, external coupon redemptions,
// and the transactions sample as transactions and lines. Mapping: coupon-engine/LOADER.md.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "aisle/common/hmac.h"
#include "aisle/engine/dataset_mapping.h"
#include "aisle/engine/loader.h"
#include "data/load_support.h"
#include "db/loader_repository.h"

namespace aisle::engine {
namespace {

using load::InputError;
using load::Row;
using load::SourceFile;

constexpr const char* kSource = "completejourney";
constexpr const char* kTimeZone =
    "America/New_York";  // 84.51° is Kroger's lab; Kroger is in Cincinnati

struct Line {
  std::int64_t basket = 0, household = 0, store = 0, product = 0;
  std::int64_t quantityMilli = 0, amount = 0, discount = 0, coupon = 0;
  std::int64_t fileLine = 0;
  std::string timestamp;
};

struct Parsed {
  std::vector<CampaignRow> campaigns;
  std::map<std::int64_t, std::string> demographics;  // household -> JSON object
  std::vector<ProductRow> products;
  std::vector<CategoryRow> categories;
  std::set<std::int64_t> productIds;
  std::vector<Line> lines;
  std::vector<CampaignProductRow> campaignProducts;
  std::int64_t duplicateCampaignProducts = 0;
  std::vector<CampaignMemberRow> campaignMembers;
  std::vector<ExternalRedemptionRow> redemptions;
  std::int64_t exponents = 0;
};

std::int64_t fileLineOf(std::string_view where) {
  return std::stoll(std::string(where.substr(where.rfind(':') + 1)));
}

void parseCampaigns(SourceFile& f, Parsed& p) {
  load::eachRow(f, {"campaign_id", "campaign_type", "start_date", "end_date"}, p.exponents,
                [&](const CsvHeader& h, const Row& r) {
                  const auto id = r.id(h.index("campaign_id"), "campaign_id");
                  const auto type = r.required(h.index("campaign_type"), "campaign_type");
                  const auto start = r.isoDate(h.index("start_date"), "start_date");
                  const auto end = r.isoDate(h.index("end_date"), "end_date");
                  if (end < start) r.error("end_date", "ends before it starts (" + start + ")");
                  // The end date is the last valid day: valid_to is the following local midnight.
                  p.campaigns.push_back({id, std::string(kSource) + ":" + std::to_string(id),
                                         "Campaign " + std::to_string(id) + " (" + type + ")",
                                         "external", "products", start, nextDay(end), kTimeZone});
                });
}

void parseDemographics(SourceFile& f, Parsed& p) {
  load::eachRow(f, {"household_id"}, p.exponents, [&](const CsvHeader& h, const Row& r) {
    const auto hh = r.id(h.index("household_id"), "household_id");
    std::string json = "{";
    bool first = true;
    // Every other column, in file order; an empty field is unknown (null), not "".
    static const char* const kColumns[] = {"age",
                                           "income",
                                           "home_ownership",
                                           "marital_status",
                                           "household_size",
                                           "household_comp",
                                           "kids_count"};
    for (const char* c : kColumns) {
      std::string value = "null";
      try {
        const auto v = r.text(h.index(c));
        if (!v.empty()) value = jsonString(v);
      } catch (const std::out_of_range&) {
        continue;  // an older export without this column
      }
      json += std::string(first ? "" : ",") + jsonString(c) + ":" + value;
      first = false;
    }
    json += "}";
    if (!p.demographics.emplace(hh, json).second)
      r.error("household_id", "household " + std::to_string(hh) + " appears twice");
  });
}

void parseProducts(SourceFile& f, Parsed& p) {
  std::map<std::string, std::map<std::string, std::int64_t>> departmentsByCategory;
  load::eachRow(f,
                {"product_id", "manufacturer_id", "department", "brand", "product_category",
                 "product_type", "package_size"},
                p.exponents, [&](const CsvHeader& h, const Row& r) {
                  ProductRow row;
                  row.id = r.id(h.index("product_id"), "product_id");
                  if (!p.productIds.insert(row.id).second)
                    r.error("product_id", "product " + std::to_string(row.id) + " appears twice");
                  const auto manufacturer = r.text(h.index("manufacturer_id"));
                  if (!manufacturer.empty())
                    row.manufacturerId = r.id(h.index("manufacturer_id"), "manufacturer_id");
                  row.department = std::string(r.text(h.index("department")));
                  row.brand = std::string(r.text(h.index("brand")));
                  row.category = std::string(r.text(h.index("product_category")));
                  row.size = std::string(r.text(h.index("package_size")));
                  row.name = completeJourneyProductName(r.text(h.index("product_type")),
                                                        row.category, row.department, row.id);
                  if (!row.category.empty()) ++departmentsByCategory[row.category][row.department];
                  p.products.push_back(std::move(row));
                });
  // A category sits in one department in our schema; the data files a few under two or more, so
  // the department most of its products carry wins (ties: alphabetical, to stay deterministic).
  for (const auto& [category, departments] : departmentsByCategory) {
    const auto best =
        std::max_element(departments.begin(), departments.end(), [](const auto& a, const auto& b) {
          return a.second < b.second || (a.second == b.second && a.first > b.first);
        });
    p.categories.push_back({category, best->first});
  }
}

void parseTransactions(SourceFile& f, Parsed& p) {
  p.lines.reserve(static_cast<std::size_t>(std::count(f.text.begin(), f.text.end(), '\n')));
  load::eachRow(
      f,
      {"household_id", "store_id", "basket_id", "product_id", "quantity", "sales_value",
       "retail_disc", "coupon_disc", "coupon_match_disc", "transaction_timestamp"},
      p.exponents, [&, c = std::vector<std::size_t>{}](const CsvHeader& h, const Row& r) mutable {
        if (c.empty()) {
          for (const char* n :
               {"household_id", "store_id", "basket_id", "product_id", "quantity", "sales_value",
                "retail_disc", "coupon_disc", "coupon_match_disc", "transaction_timestamp"}) {
            c.push_back(h.index(n));
          }
        }
        Line l;
        l.household = r.id(c[0], "household_id");
        l.store = r.id(c[1], "store_id");
        l.basket = r.id(c[2], "basket_id");
        l.product = r.id(c[3], "product_id");
        l.quantityMilli = r.quantityMilli(c[4], "quantity");
        l.amount = r.amountMinor(c[5], "sales_value");
        l.discount = r.amountMinor(c[6], "retail_disc");
        // Our line has one coupon discount: the manufacturer's coupon and the store's match.
        l.coupon = r.amountMinor(c[7], "coupon_disc") + r.amountMinor(c[8], "coupon_match_disc");
        l.timestamp = r.required(c[9], "transaction_timestamp");
        l.fileLine = fileLineOf(r.where());
        p.lines.push_back(std::move(l));
      });
}

void parseCoupons(SourceFile& f, Parsed& p, const std::set<std::int64_t>& campaignIds) {
  std::set<std::tuple<std::int64_t, std::string, std::int64_t>> seen;
  load::eachRow(f, {"coupon_upc", "product_id", "campaign_id"}, p.exponents,
                [&](const CsvHeader& h, const Row& r) {
                  CampaignProductRow row{r.id(h.index("campaign_id"), "campaign_id"),
                                         r.required(h.index("coupon_upc"), "coupon_upc"),
                                         r.id(h.index("product_id"), "product_id")};
                  if (!campaignIds.count(row.campaignId))
                    r.error("campaign_id", "campaign " + std::to_string(row.campaignId) +
                                               " is not in campaign_descriptions.csv");
                  if (!seen.emplace(row.campaignId, row.couponUpc, row.productId).second) {
                    ++p.duplicateCampaignProducts;  // the same fact twice: stored once
                    return;
                  }
                  p.campaignProducts.push_back(std::move(row));
                });
}

void parseCampaignMembers(SourceFile& f, Parsed& p, const std::set<std::int64_t>& campaignIds) {
  load::eachRow(f, {"campaign_id", "household_id"}, p.exponents,
                [&](const CsvHeader& h, const Row& r) {
                  CampaignMemberRow row{r.id(h.index("household_id"), "household_id"),
                                        r.id(h.index("campaign_id"), "campaign_id")};
                  if (!campaignIds.count(row.campaignId))
                    r.error("campaign_id", "campaign " + std::to_string(row.campaignId) +
                                               " is not in campaign_descriptions.csv");
                  p.campaignMembers.push_back(row);
                });
}

void parseRedemptions(SourceFile& f, Parsed& p, const std::set<std::int64_t>& campaignIds) {
  load::eachRow(f, {"household_id", "coupon_upc", "campaign_id", "redemption_date"}, p.exponents,
                [&](const CsvHeader& h, const Row& r) {
                  ExternalRedemptionRow row;
                  row.memberId = r.id(h.index("household_id"), "household_id");
                  row.couponUpc = r.required(h.index("coupon_upc"), "coupon_upc");
                  row.campaignId = r.id(h.index("campaign_id"), "campaign_id");
                  if (!campaignIds.count(row.campaignId))
                    r.error("campaign_id", "campaign " + std::to_string(row.campaignId) +
                                               " is not in campaign_descriptions.csv");
                  row.date = r.isoDate(h.index("redemption_date"), "redemption_date");
                  row.timeZone = kTimeZone;
                  row.ordinal = fileLineOf(r.where());
                  p.redemptions.push_back(std::move(row));
                });
}

// Baskets from lines: one transaction per basket_id, lines in product order so the result does
// not depend on the order of the file.
std::vector<TransactionRow> buildTransactions(std::vector<Line>& lines,
                                              const std::string& fileName) {
  std::sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) {
    return std::tie(a.basket, a.product, a.fileLine) < std::tie(b.basket, b.product, b.fileLine);
  });
  std::vector<TransactionRow> out;
  for (std::size_t i = 0; i < lines.size();) {
    std::size_t j = i;
    while (j < lines.size() && lines[j].basket == lines[i].basket) ++j;
    const Line& head = lines[i];
    auto ts = parseIsoTimestamp(head.timestamp);
    if (!ts)
      throw InputError(fileName + ":" + std::to_string(head.fileLine) +
                       ": column transaction_timestamp: " + ts.message());
    TransactionRow t;
    t.memberId = head.household;
    t.orgId = kSource;
    t.storeId = head.store;
    t.workstationId = "0";  // the data set has no till numbers
    t.businessDay = ts->localDate;
    t.sequenceNo = std::to_string(head.basket);
    t.occurredAt = ts->postgresText;
    t.cardNumber = loyaltyCardNumber(head.household);
    std::string normalized = std::string(kSource) + "|" + std::to_string(head.store) + "|" +
                             std::to_string(ts->epochSeconds) + "|" +
                             std::to_string(head.household) + "|" + t.sequenceNo;
    for (std::size_t k = i; k < j; ++k) {
      const Line& l = lines[k];
      if (l.household != head.household || l.store != head.store || l.timestamp != head.timestamp) {
        throw InputError(fileName + ":" + std::to_string(l.fileLine) + ": basket " + t.sequenceNo +
                         " disagrees with line " + std::to_string(head.fileLine) +
                         " on household, store or time");
      }
      t.lines.push_back({l.product, l.quantityMilli, l.amount, l.discount, l.coupon});
      t.totalMinor += l.amount;
      normalized += "|" + std::to_string(l.product) + "," + std::to_string(l.quantityMilli) + "," +
                    std::to_string(l.amount) + "," + std::to_string(l.discount) + "," +
                    std::to_string(l.coupon);
    }
    t.contentHashHex = sha256Hex(normalized);
    out.push_back(std::move(t));
    i = j;
  }
  return out;
}

LoadReport run(pqxx::connection& conn, const std::string& dir, const LoadOptions& options) {
  load::Stopwatch total;
  auto silent = makeSilentProgress();
  Progress& progress = options.progress ? *options.progress : *silent;
  LoadReport report;
  report.source = kSource;

  progress.phase("reading files", 7);
  const auto path = [&](const char* name) { return (std::filesystem::path(dir) / name).string(); };
  std::vector<SourceFile> files;
  for (const char* name : {"campaign_descriptions.csv", "demographics.csv", "products.csv",
                           "coupons.csv", "campaigns.csv", "coupon_redemptions.csv"}) {
    files.push_back(load::readSource(path(name), name));
    progress.advance(1);
  }
  load::Stopwatch txTimer;
  files.push_back(load::readSource(path("transactions_sample.csv"), "transactions_sample.csv"));
  double txSeconds = txTimer.seconds();
  progress.advance(1);
  progress.finish();

  LoaderRepository repo(conn);
  repo.begin("aisle:load:completejourney");
  if (!options.force) {
    const auto loaded = repo.loadedFiles(kSource);
    const bool same = std::all_of(files.begin(), files.end(), [&](const SourceFile& f) {
      const auto it = loaded.find(f.name);
      return it != loaded.end() && it->second == f.sha256;
    });
    if (same) {
      repo.rollback();
      report.unchanged = true;
      report.notes.push_back(
          "every file was loaded before with the same sha256 (data_loads): nothing to do; "
          "--force merges again");
      report.seconds = total.seconds();
      return report;
    }
  }

  Parsed p;
  progress.phase("parsing", 7);
  parseCampaigns(files[0], p);
  std::set<std::int64_t> campaignIds;
  for (const auto& c : p.campaigns) {
    if (!campaignIds.insert(c.id).second)
      throw InputError(files[0].name + ": campaign " + std::to_string(c.id) + " appears twice");
  }
  progress.advance(1);
  parseDemographics(files[1], p);
  progress.advance(1);
  parseProducts(files[2], p);
  progress.advance(1);
  parseCoupons(files[3], p, campaignIds);
  progress.advance(1);
  parseCampaignMembers(files[4], p, campaignIds);
  progress.advance(1);
  parseRedemptions(files[5], p, campaignIds);
  progress.advance(1);
  txTimer = load::Stopwatch();
  parseTransactions(files[6], p);
  auto transactions = buildTransactions(p.lines, files[6].name);
  txSeconds += txTimer.seconds();
  progress.advance(1);
  progress.finish();

  // Derived catalogs: stores and members are whatever the files mention.
  std::set<std::int64_t> storeIds, households, referenced;
  for (const auto& l : p.lines) {
    storeIds.insert(l.store);
    households.insert(l.household);
    referenced.insert(l.product);
  }
  std::vector<Line>().swap(p.lines);  // the baskets hold everything now
  for (const auto& c : p.campaignProducts) referenced.insert(c.productId);
  for (const auto& c : p.campaignMembers) households.insert(c.memberId);
  for (const auto& r : p.redemptions) households.insert(r.memberId);
  for (const auto& [hh, json] : p.demographics) households.insert(hh);

  std::vector<StoreRow> stores;
  for (auto id : storeIds)
    stores.push_back({id, kSource, std::to_string(id), "Store " + std::to_string(id), kTimeZone});
  std::vector<ProductRow> placeholders;
  for (auto id : referenced) {
    if (p.productIds.count(id)) continue;
    report.placeholderProducts.push_back(id);
    ProductRow row;
    row.id = id;
    row.name = "unknown product " + std::to_string(id) + " (not in products.csv)";
    placeholders.push_back(std::move(row));
  }
  std::vector<MemberRow> members;
  for (auto hh : households) {
    MemberRow m;
    m.id = hh;
    m.householdId = hh;
    m.externalRef = std::string(kSource) + ":" + std::to_string(hh);
    const auto d = p.demographics.find(hh);
    if (d != p.demographics.end()) m.demographicsJson = d->second;
    m.cardNumber = loyaltyCardNumber(hh);
    members.push_back(std::move(m));
  }

  progress.phase("catalog, members, campaigns", 9);
  const auto step = [&](const char* table, std::int64_t n) {
    report.inserted.emplace_back(table, n);
    progress.advance(1);
  };
  step("stores", repo.addStores(stores));
  step("categories", repo.addCategories(p.categories));
  auto productsInserted = repo.addProducts(p.products);
  productsInserted += repo.addProducts(placeholders);
  step("products", productsInserted);
  const auto [membersInserted, cardsInserted] = repo.addMembersWithCards(members);
  step("members", membersInserted);
  step("cards", cardsInserted);
  step("campaigns", repo.addCampaigns(p.campaigns));
  step("campaign_products", repo.addCampaignProducts(p.campaignProducts));
  step("campaign_members", repo.addCampaignMembers(p.campaignMembers));
  step("redemptions", repo.addExternalRedemptions(p.redemptions, "import:completejourney"));
  progress.finish();

  txTimer = load::Stopwatch();
  const std::int64_t freshLines =
      load::copyNewTransactions(repo, kSource, std::move(transactions), progress, report);

  for (const auto& f : files) {
    repo.recordFile(kSource, f.name, f.sha256, f.rows);
    report.fileRows.emplace_back(f.name, f.rows);
  }
  repo.commit();
  txSeconds += txTimer.seconds();
  report.transactionSeconds = txSeconds;
  report.transactionLinesWritten = freshLines;

  if (!report.placeholderProducts.empty()) {
    report.notes.push_back(
        withThousands(static_cast<std::int64_t>(report.placeholderProducts.size())) +
        " products are referenced by transactions or coupons but missing from products.csv: "
        "placeholder rows named \"unknown product N\"");
  }
  if (p.duplicateCampaignProducts > 0) {
    report.notes.push_back(
        "coupons.csv: " + withThousands(p.duplicateCampaignProducts) +
        " rows repeat an earlier (campaign, coupon_upc, product) and are stored once: " +
        withThousands(static_cast<std::int64_t>(p.campaignProducts.size())) + " distinct");
  }
  if (p.exponents > 0) {
    report.notes.push_back(
        withThousands(p.exponents) +
        " numbers were written in scientific notation (e.g. 4.0128e+10) and were expanded exactly");
  }
  report.seconds = total.seconds();
  return report;
}

}  // namespace

Result<LoadReport> loadCompleteJourney(pqxx::connection& conn, const std::string& dir,
                                       const LoadOptions& options) {
  try {
    return run(conn, dir, options);
  } catch (const InputError& e) {
    // Nothing was committed: the repository's transaction is rolled back with it.
    return fail(e.what());
  }
}

}  // namespace aisle::engine
