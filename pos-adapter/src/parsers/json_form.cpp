// The JSON transaction form (documented in pos-adapter/POS.md): for POS systems without POSLog and
// for tools. Strict: unknown fields are errors (a misspelt "qty" must not silently become quantity 1),
// amounts are strings or integers (a JSON 1.1 is a double and not exact money).
#include <algorithm>
#include <initializer_list>

#include "aisle/common/parse.h"
#include "aisle/pos/poslog.h"
#include "aisle/pos/time_zone.h"
#include "common.h"
#include "json_value.h"

namespace aisle::pos {
namespace {

using json::Value;
using Type = json::Value::Type;

// The form nests five deep (envelope, array, sale, lines, return_of); deeper is only ever an attack.
constexpr std::size_t kMaxDepth = 16;

// A short list scanned in place: no set built per object (every line of every sale comes here).
Status onlyKnown(const Value& o, std::initializer_list<std::string_view> known, const std::string& where) {
  for (const auto& m : o.members) {
    if (std::find(known.begin(), known.end(), m.key) == known.end())
      return fail(where + ": unknown field '" + m.key.substr(0, 40) + "'");
  }
  return okStatus();
}

// A member that is there and not null.
const Value* present(const Value& o, std::string_view key) {
  const Value* v = o.find(key);
  return v && !v->isNull() ? v : nullptr;
}

// A string field; numbers are accepted as their integer text for ids ("store": 9).
Result<std::string> str(const Value& o, std::string_view key, const std::string& where, bool required) {
  const Value* v = present(o, key);
  if (!v) {
    if (required) return fail(where + ": '" + std::string(key) + "' is missing");
    return std::string();
  }
  if (v->type == Type::String || (v->type == Type::Number && v->integer)) return v->text;
  return fail(where + ": '" + std::string(key) + "' must be a string");
}

// Exact decimals: a string ("1.26") or an integer (whole units). Doubles are refused.
Result<std::string> decimal(const Value& o, std::string_view key, const std::string& where, bool required) {
  const Value* v = present(o, key);
  if (!v) {
    if (required) return fail(where + ": '" + std::string(key) + "' is missing");
    return std::string();
  }
  if (v->type == Type::String || (v->type == Type::Number && v->integer)) return v->text;
  if (v->type == Type::Number) {
    return fail(where + ": '" + std::string(key) + "' must be a string such as \"1.26\" (JSON numbers are not exact)");
  }
  return fail(where + ": '" + std::string(key) + "' must be a decimal string");
}

Result<bool> boolean(const Value& o, std::string_view key, const std::string& where) {
  const Value* v = present(o, key);
  if (!v) return false;
  if (v->type != Type::Bool) return fail(where + ": '" + std::string(key) + "' must be true or false");
  return v->boolean;
}

// "line": an integer in [min, 1,000,000]; null counts as given (and wrong), as it always did.
Result<int> lineNumber(const Value& o, const std::string& where, int min) {
  const Value* v = o.find("line");
  if (!v->integer || v->type != Type::Number) return fail(where + ": 'line' must be an integer");
  auto n = parseNumber<int>(v->text, min, 1'000'000);
  if (!n) return fail(where + ": 'line' " + n.message());
  return *n;
}

Result<NaturalKey> keyOf(const Value& o, const NaturalKey& own, const std::string& where) {
  if (auto s = onlyKnown(o, {"org", "store", "workstation", "business_day", "sequence"}, where); !s) return s.error();
  NaturalKey k = own;
  for (auto [name, target] : {std::pair{"org", &k.org}, {"store", &k.store}, {"workstation", &k.workstation},
                              {"business_day", &k.businessDay}, {"sequence", &k.sequence}}) {
    auto v = str(o, name, where, false);
    if (!v) return v.error();
    if (!v->empty()) *target = *v;
  }
  for (auto [v, what] : {std::pair{std::string_view(k.store), "store"}, {k.workstation, "workstation"},
                         {k.sequence, "sequence"}}) {
    if (auto s = detail::checkIdentifier(v, where + " " + what); !s) return s.error();
  }
  auto d = parseDate(k.businessDay);
  if (!d) return fail(where + " business_day: " + d.message());
  k.businessDay = formatDate(*d);
  return k;
}

Result<Line> lineOf(const Value& o, std::size_t index, const Transaction& t, const ParseOptions& opt) {
  const std::string where = "lines[" + std::to_string(index) + "]";
  if (auto s = onlyKnown(o, {"line", "item", "gtin", "quantity", "unit_price", "amount", "discount", "return",
                             "return_of"}, where);
      !s) {
    return s.error();
  }
  Line l;
  l.lineNo = static_cast<int>(index) + 1;
  if (o.find("line")) {
    auto n = lineNumber(o, where, 1);
    if (!n) return n.error();
    l.lineNo = *n;
  }
  auto item = str(o, "item", where, false);
  if (!item) return item.error();
  auto gtin = str(o, "gtin", where, false);
  if (!gtin) return gtin.error();
  if (const Value* given = o.find("gtin"); given && given->isNull()) {
    // Explicitly not a GTIN (a POSLog POSIDType="SKU" whose digits happen to check): keep it a code.
  } else if (!gtin->empty()) {
    auto g = Gtin::parse(*gtin);
    if (!g) return fail(where + ": " + g.message());
    l.gtin = *g;
  } else if (auto g = Gtin::parse(*item)) {
    l.gtin = *g;
  }
  auto itemCode = detail::code(*item, where + " item");
  if (!itemCode) return itemCode.error();
  l.itemCode = std::move(*itemCode);
  if (l.itemCode.empty()) {
    if (!l.gtin) return fail(where + ": 'item' or 'gtin' is required");
    l.itemCode = l.gtin->str();
  }
  auto qty = decimal(o, "quantity", where, false);
  if (!qty) return qty.error();
  if (!qty->empty()) {
    auto q = detail::parseQuantity(*qty, where + " quantity", opt.limits);
    if (!q) return q.error();
    l.quantity = *q;
  }
  auto price = decimal(o, "unit_price", where, false);
  if (!price) return price.error();
  if (!price->empty()) {
    auto p = detail::parseAmount(*price, where + " unit_price", t.currency, opt.limits);
    if (!p) return p.error();
    l.unitPrice = *p;
  }
  auto amount = decimal(o, "amount", where, true);
  if (!amount) return amount.error();
  auto a = detail::parseAmount(*amount, where + " amount", t.currency, opt.limits);
  if (!a) return a.error();
  auto discount = decimal(o, "discount", where, false);
  if (!discount) return discount.error();
  if (!discount->empty()) {
    auto d = detail::parseAmount(*discount, where + " discount", t.currency, opt.limits);
    if (!d) return d.error();
    l.discount = Money::fromMinor(std::llabs(d->minor()));
  }
  auto ret = boolean(o, "return", where);
  if (!ret) return ret.error();
  // The same normalization as POSLog: a return is negative in quantity and amount.
  l.isReturn = *ret || l.quantity.milli() < 0 || a->minor() < 0;
  const std::int64_t mag = std::llabs(a->minor());
  l.amount = Money::fromMinor(l.isReturn ? -mag : mag);
  if (l.isReturn && l.quantity.milli() > 0) l.quantity = Quantity::fromMilli(-l.quantity.milli());
  if (const Value* ro = o.find("return_of")) {
    if (!ro->isObject()) return fail(where + ": 'return_of' must be an object");
    auto k = keyOf(*ro, t.key, where + " return_of");
    if (!k) return k.error();
    l.returnOf = *k;
  }
  return l;
}

Result<Redemption> redemptionOf(const Value& o, std::size_t index, const Transaction& t, const ParseOptions& opt) {
  const std::string where = "redemptions[" + std::to_string(index) + "]";
  if (auto s = onlyKnown(o, {"kind", "promotion", "offer", "code", "amount", "line"}, where); !s) return s.error();
  Redemption r;
  auto kind = str(o, "kind", where, true);
  if (!kind) return kind.error();
  if (*kind == "coupon") {
    r.kind = Redemption::Kind::Coupon;
  } else if (*kind == "loyalty_reward") {
    r.kind = Redemption::Kind::LoyaltyReward;
  } else {
    return fail(where + ": 'kind' must be \"coupon\" or \"loyalty_reward\"");
  }
  for (auto [name, target] : {std::pair{"promotion", &r.promotionId}, {"offer", &r.offerId}, {"code", &r.couponCode}}) {
    auto v = str(o, name, where, false);
    if (!v) return v.error();
    auto c = detail::code(*v, where + " " + name);
    if (!c) return c.error();
    *target = std::move(*c);
  }
  if (r.promotionId.empty() && r.offerId.empty() && r.couponCode.empty()) {
    return fail(where + ": one of 'promotion', 'offer' or 'code' is required");
  }
  auto amount = decimal(o, "amount", where, false);
  if (!amount) return amount.error();
  if (!amount->empty()) {
    auto a = detail::parseAmount(*amount, where + " amount", t.currency, opt.limits);
    if (!a) return a.error();
    r.amount = Money::fromMinor(std::llabs(a->minor()));
  }
  if (o.find("line")) {
    auto n = lineNumber(o, where, 0);
    if (!n) return n.error();
    r.lineNo = *n;
  }
  return r;
}

TransactionOutcome transactionOf(const Value& o, std::size_t index, const ParseOptions& opt) {
  TransactionOutcome out;
  out.index = index;
  auto reject = [&](std::string reason) {
    out.kind = TransactionOutcome::Kind::Rejected;
    out.reason = std::move(reason);
    return out;
  };
  if (!o.isObject()) return reject("a transaction must be a JSON object");
  const std::string where = "transaction";
  if (auto s = onlyKnown(o, {"org", "store", "workstation", "business_day", "sequence", "ended_at", "currency",
                             "card", "training", "suspended", "cancelled", "post_void_of", "lines",
                             "redemptions", "total"}, where);
      !s) {
    return reject(s.message());
  }
  Transaction t;
  t.source = "json";
  t.key.org = opt.org;
  for (auto [name, target] : {std::pair{"org", &t.key.org}, {"store", &t.key.store},
                              {"workstation", &t.key.workstation}, {"business_day", &t.key.businessDay},
                              {"sequence", &t.key.sequence}}) {
    auto s = str(o, name, where, false);
    if (!s) return reject(s.message());
    if (!s->empty()) *target = std::string(trim(*s));
  }
  out.reference = t.key.str();
  for (auto [val, what] : {std::pair{std::string_view(t.key.org), "org"}, {t.key.store, "store"},
                           {t.key.workstation, "workstation"}, {t.key.sequence, "sequence"}}) {
    if (auto s = detail::checkIdentifier(val, what); !s) return reject(s.message());
  }
  auto currency = str(o, "currency", where, false);
  if (!currency) return reject(currency.message());
  t.currency = currency->empty() ? opt.defaultCurrency : *currency;
  for (auto [name, target] : {std::pair{"training", &t.training}, {"suspended", &t.suspended},
                              {"cancelled", &t.cancelled}}) {
    auto b = boolean(o, name, where);
    if (!b) return reject(b.message());
    *target = *b;
  }
  auto ended = str(o, "ended_at", where, false);
  if (!ended) return reject(ended.message());
  if (auto s = detail::resolveTimes(t, *ended, opt); !s) return reject(s.message());
  out.reference = t.key.str();
  if (const Value* pv = o.find("post_void_of")) {
    if (!pv->isObject()) return reject("'post_void_of' must be an object");
    auto k = keyOf(*pv, t.key, "post_void_of");
    if (!k) return reject(k.message());
    if (*k == t.key) return reject("post-void links to itself");
    t.postVoidOf = *k;
  }
  auto card = str(o, "card", where, false);
  if (!card) return reject(card.message());
  detail::assignCard(t, *card, opt);
  if (const Value* lines = o.find("lines")) {
    if (!lines->isArray()) return reject("'lines' must be an array");
    if (lines->items.size() > opt.limits.maxLinesPerTransaction) {
      return reject("more than " + std::to_string(opt.limits.maxLinesPerTransaction) + " lines");
    }
    t.lines.reserve(lines->items.size());
    for (std::size_t i = 0; i < lines->items.size(); ++i) {
      const Value& lo = lines->items[i];
      if (!lo.isObject()) return reject("lines[" + std::to_string(i) + "] must be an object");
      auto l = lineOf(lo, i, t, opt);
      if (!l) return reject(l.message());
      t.lines.push_back(std::move(*l));
    }
  }
  if (const Value* reds = o.find("redemptions")) {
    if (!reds->isArray()) return reject("'redemptions' must be an array");
    if (reds->items.size() > opt.limits.maxLinesPerTransaction) return reject("too many redemptions");
    for (std::size_t i = 0; i < reds->items.size(); ++i) {
      const Value& ro = reds->items[i];
      if (!ro.isObject()) return reject("redemptions[" + std::to_string(i) + "] must be an object");
      auto r = redemptionOf(ro, i, t, opt);
      if (!r) return reject(r.message());
      t.redemptions.push_back(std::move(*r));
    }
  }
  auto total = decimal(o, "total", where, false);
  if (!total) return reject(total.message());
  if (!total->empty()) {
    auto m = detail::parseAmount(*total, "total", t.currency, opt.limits);
    if (!m) return reject(m.message());
    t.total = *m;
  } else {
    Money sum;
    for (const auto& l : t.lines) sum += l.amount;
    for (const auto& r : t.redemptions) sum -= r.amount;
    t.total = sum;
  }
  if (t.postVoidOf) {
    t.lines.clear();  // a post-void carries no sale of its own, whatever else was sent
    t.redemptions.clear();
  }
  if (auto s = detail::finish(t, opt); !s) return reject(s.message());
  out.kind = TransactionOutcome::Kind::Parsed;
  out.transaction = std::move(t);
  return out;
}

}  // namespace

Result<ParsedDocument> parseTransactionJson(std::string_view json, const ParseOptions& opt) {
  if (json.size() > opt.limits.maxBytes) {
    return fail("document is " + std::to_string(json.size()) + " bytes; the limit is " +
                std::to_string(opt.limits.maxBytes));
  }
  auto root = json::parse(json, kMaxDepth);
  if (!root) return fail("JSON is not well-formed: " + root.message());
  std::vector<const Value*> items;
  if (root->isArray()) {
    for (const auto& v : root->items) items.push_back(&v);
  } else if (root->isObject()) {
    const Value* arr = root->members.size() == 1 ? root->find("transactions") : nullptr;
    if (arr) {
      if (!arr->isArray()) return fail("'transactions' must be an array");
      for (const auto& v : arr->items) items.push_back(&v);
    } else {
      items.push_back(&*root);
    }
  } else {
    return fail("JSON document must be a transaction object or an array of them");
  }
  if (items.size() > opt.limits.maxTransactions) {
    return fail("more than " + std::to_string(opt.limits.maxTransactions) + " transactions in one document");
  }
  ParsedDocument doc;
  doc.items.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) doc.items.push_back(transactionOf(*items[i], i, opt));
  return doc;
}

}  // namespace aisle::pos
