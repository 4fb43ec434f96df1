// Campaign files (TOML). One [[campaign]] table per campaign; see
// coupon-engine/examples/campaigns.toml.
#include <toml++/toml.h>

#include <chrono>
#include <cmath>
#include <set>

#include "aisle/common/money.h"
#include "aisle/engine/batch.h"
#include "aisle/engine/history.h"

namespace aisle::engine {
namespace {

struct FileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Reader {
 public:
  Reader(const toml::table& t, std::string where) : t_(t), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& why) const {
    const toml::node* n = t_.get(key);
    const auto line = n ? n->source().begin.line : t_.source().begin.line;
    throw FileError(where_ + ":" + std::to_string(line) + ": " + key + ": " + why);
  }

  bool has(const std::string& key) const { return t_.contains(key); }

  std::int64_t integer(const std::string& key, std::int64_t min, std::int64_t max) const {
    const auto v = t_[key].value<std::int64_t>();
    if (!v) fail(key, "expected an integer");
    if (*v < min || *v > max)
      fail(key, "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return *v;
  }
  std::string text(const std::string& key) const {
    const auto v = t_[key].value<std::string>();
    if (!v) fail(key, "expected a string");
    return *v;
  }
  // A percentage as an exact count of hundredths (15.5 -> 1550).
  std::int32_t hundredths(const std::string& key, double max) const {
    const auto v = t_[key].value<double>();
    if (!v) fail(key, "expected a number");
    if (*v < 0 || *v > max) fail(key, "out of range [0, " + std::to_string(max) + "]");
    return static_cast<std::int32_t>(std::llround(*v * 100));
  }
  // Money as a decimal string ("250.00"), never a float.
  std::int64_t money(const std::string& key) const {
    const auto m = Money::parse(text(key));
    if (!m || m->minor() < 0) fail(key, "expected an amount such as \"250.00\"");
    return m->minor();
  }
  std::int64_t timeMs(const std::string& key) const {
    const toml::node* n = t_.get(key);
    if (!n) fail(key, "missing");
    using namespace std::chrono;
    if (const auto d = n->value<toml::date>()) {
      const auto days = sys_days(year_month_day(year(d->year), month(d->month), day(d->day)));
      return duration_cast<milliseconds>(days.time_since_epoch()).count();
    }
    if (const auto dt = n->value<toml::date_time>()) {
      const auto days =
          sys_days(year_month_day(year(dt->date.year), month(dt->date.month), day(dt->date.day)));
      const auto offsetMin = dt->offset ? dt->offset->minutes : 0;
      return duration_cast<milliseconds>(days.time_since_epoch()).count() +
             ((dt->time.hour * 60 + dt->time.minute - offsetMin) * 60 + dt->time.second) * 1000LL;
    }
    fail(key, "expected a date (2018-01-01) or a date-time");
  }
  std::vector<std::string> texts(const std::string& key) const {
    std::vector<std::string> out;
    if (!has(key)) return out;
    const auto* a = t_[key].as_array();
    if (!a) fail(key, "expected an array of strings");
    for (const auto& e : *a) {
      const auto v = e.value<std::string>();
      if (!v) fail(key, "expected an array of strings");
      out.push_back(*v);
    }
    return out;
  }
  std::vector<std::int64_t> integers(const std::string& key) const {
    std::vector<std::int64_t> out;
    if (!has(key)) return out;
    const auto* a = t_[key].as_array();
    if (!a) fail(key, "expected an array of integers");
    for (const auto& e : *a) {
      const auto v = e.value<std::int64_t>();
      if (!v) fail(key, "expected an array of integers");
      out.push_back(*v);
    }
    return out;
  }
  const toml::table* table(const std::string& key) const { return t_[key].as_table(); }
  const toml::table& raw() const { return t_; }
  const std::string& where() const { return where_; }

 private:
  const toml::table& t_;
  std::string where_;
};

CampaignSpec readCampaign(const Reader& r) {
  static const std::set<std::string> kKnown = {
      "id",       "name",   "type",         "percent_off",      "amount_off",
      "buy",      "get",    "points",       "target",           "valid_from",
      "valid_to", "budget", "budget_count", "per_member_limit", "holdout_pct",
      "segments", "stores", "consents",     "min_ltv",          "status"};
  // A misspelt key would silently fall back to a default (no budget!): reject it.
  for (const auto& [key, node] : r.raw())
    if (!kKnown.count(std::string(key.str()))) r.fail(std::string(key.str()), "unknown key");
  CampaignSpec s;
  Campaign& c = s.campaign;
  c.id = r.integer("id", 1, std::numeric_limits<std::int64_t>::max());
  c.name = r.text("name");
  if (!offerTypeByName(r.text("type"), c.type) || c.type == OfferType::External)
    r.fail("type", "expected percent_off, amount_off, buy_x_get_y or points");
  switch (c.type) {
    case OfferType::PercentOff:
      c.percentOffHundredths = r.hundredths("percent_off", 100);
      if (c.percentOffHundredths <= 0) r.fail("percent_off", "must be above 0");
      break;
    case OfferType::AmountOff:
      c.amountOffMinor = r.money("amount_off");
      if (c.amountOffMinor <= 0) r.fail("amount_off", "must be above 0");
      break;
    case OfferType::BuyXGetY:
      c.buyQty = static_cast<int>(r.integer("buy", 1, 100));
      c.getQty = static_cast<int>(r.integer("get", 1, 100));
      break;
    case OfferType::Points:
      c.points = static_cast<int>(r.integer("points", 1, 1'000'000));
      break;
    case OfferType::External:
      break;
  }
  const toml::table* target = r.table("target");
  if (!target || target->size() != 1)
    r.fail("target",
           "expected one of { category = \"NAME\" }, { category_id = N }, { product = N }, "
           "{ brand = \"B\" }, { basket_min_spend = \"40.00\" }");
  const Reader t(*target, r.where());
  if (t.has("category")) {
    c.targetKind = TargetKind::Category;
    s.categoryName = t.text("category");
  } else if (t.has("category_id")) {
    c.targetKind = TargetKind::Category;
    c.targetRef =
        std::to_string(t.integer("category_id", 1, std::numeric_limits<std::int64_t>::max()));
  } else if (t.has("product")) {
    c.targetKind = TargetKind::Product;
    c.targetRef = std::to_string(t.integer("product", 1, std::numeric_limits<std::int64_t>::max()));
  } else if (t.has("brand")) {
    c.targetKind = TargetKind::Brand;
    c.targetRef = t.text("brand");
  } else if (t.has("basket_min_spend")) {
    // "Spend X, get Y off the basket": the threshold travels in target_ref (minor units).
    c.targetKind = TargetKind::Basket;
    const auto threshold = t.money("basket_min_spend");
    if (threshold <= 0) t.fail("basket_min_spend", "must be above 0");
    c.targetRef = std::to_string(threshold);
    // A percentage of a basket or a free item has no value the budget could reserve up front.
    if (c.type != OfferType::AmountOff && c.type != OfferType::Points)
      r.fail("type", "a basket offer is amount_off or points");
  } else {
    r.fail("target", "unknown target kind (category, category_id, product, brand, basket_min_spend)");
  }
  c.validFromMs = r.timeMs("valid_from");
  c.validToMs = r.timeMs("valid_to");
  if (c.validToMs <= c.validFromMs) r.fail("valid_to", "must be after valid_from");
  if (r.has("budget")) c.budgetMinor = r.money("budget");
  if (r.has("budget_count")) c.budgetCount = r.integer("budget_count", 0, 2'000'000'000);
  if (r.has("per_member_limit"))
    c.perMemberLimit = static_cast<int>(r.integer("per_member_limit", 1, 1000));
  if (r.has("holdout_pct")) {
    c.holdoutHundredths = r.hundredths("holdout_pct", 99.99);
  }
  for (const auto& name : r.texts("segments")) {
    Segment seg;
    if (!segmentByName(name, seg)) r.fail("segments", "unknown segment '" + name + "'");
    c.segments.push_back(seg);
  }
  c.stores = r.integers("stores");
  for (const auto& p : r.texts("consents")) {
    if (p != "marketing" && p != "proximity" && p != "push")
      r.fail("consents", "unknown purpose '" + p + "'");
    c.consents.push_back(p);
  }
  if (r.has("min_ltv")) c.minLtvMinor = r.money("min_ltv");
  if (r.has("status")) {
    s.status = r.text("status");
    if (s.status != "draft" && s.status != "active" && s.status != "paused" && s.status != "ended")
      r.fail("status", "expected draft, active, paused or ended");
  }
  return s;
}

}  // namespace

Result<std::vector<CampaignSpec>> parseCampaignToml(const std::string& text,
                                                    const std::string& sourceName) {
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(sourceName));
  } catch (const toml::parse_error& e) {
    return fail(sourceName + ":" + std::to_string(e.source().begin.line) + ": " +
                std::string(e.description()));
  }
  const auto* arr = root["campaign"].as_array();
  if (!arr) return fail(sourceName + ": expected [[campaign]] tables");
  std::vector<CampaignSpec> out;
  std::set<std::int64_t> ids;
  try {
    for (const auto& node : *arr) {
      const auto* t = node.as_table();
      if (!t) return fail(sourceName + ": [[campaign]] entries must be tables");
      out.push_back(readCampaign(Reader(*t, sourceName)));
      if (!ids.insert(out.back().campaign.id).second)
        return fail(sourceName + ":" + std::to_string(t->source().begin.line) + ": id " +
                    std::to_string(out.back().campaign.id) + " used twice");
    }
  } catch (const FileError& e) {
    return fail(e.what());
  }
  return out;
}

Result<std::vector<CampaignSpec>> parseCampaignFile(const std::string& path) {
  auto text = readFileContents(path);
  if (!text) return fail(path + ": " + text.message());
  return parseCampaignToml(*text, path);
}

}  // namespace aisle::engine
