// ARTS POSLog XML -> Transaction. What is read (and what is deliberately ignored) is listed in
// pos-adapter/POS.md; vendor extensions are ignored except NCR's acs:LoyaltyID and acs reward detail.
#include "aisle/pos/poslog.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "aisle/common/parse.h"
#include "aisle/pos/time_zone.h"
#include "common.h"
#include "xml_tree.h"

namespace aisle::pos {
namespace {

using xml::Node;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The ARTS namespace in every spelling seen in the field: http or https, with or without "www.", a
// trailing slash, or a version segment ("/2.1", "/6.0.0/"); documents without any namespace too.
bool isArtsUncached(std::string_view ns) {
  std::string s = lower(ns);
  for (std::string_view p : {"http://", "https://"})
    if (s.rfind(p, 0) == 0) s.erase(0, p.size());
  if (s.rfind("www.", 0) == 0) s.erase(0, 4);
  const std::string base = "nrf-arts.org/ixretail/namespace";
  if (s.rfind(base, 0) != 0) return false;
  std::string_view rest = std::string_view(s).substr(base.size());
  if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  return rest.empty() || rest.find_first_not_of("0123456789.") == std::string_view::npos;
}

// Every element lookup asks these for each child, and a document uses two or three namespaces: the
// last answer of each kind is kept, so the lower-casing runs a few times per document, not per child.
// Within one document every element in a declaration's scope views the same bytes, so the view itself
// is compared first; parsePosLog forgets the views when it starts (another document may reuse the
// address), keeping the strings.
thread_local std::uint64_t tDocument = 0;  // which parsePosLog call the remembered views belong to

template <bool (*Classify)(std::string_view)>
bool cached(std::string_view ns) {
  thread_local std::string yes, no;
  thread_local std::string_view yesView, noView;
  thread_local std::uint64_t viewsOf = 0;
  thread_local bool haveYes = false, haveNo = false;
  if (viewsOf != tDocument) {
    yesView = noView = {};
    viewsOf = tDocument;
  }
  if (!ns.empty() && ns.data() == yesView.data() && ns.size() == yesView.size()) return true;
  if (!ns.empty() && ns.data() == noView.data() && ns.size() == noView.size()) return false;
  bool r;
  if (haveYes && ns == yes) {
    r = true;
  } else if (haveNo && ns == no) {
    r = false;
  } else {
    r = Classify(ns);
    (r ? yes : no).assign(ns);
    (r ? haveYes : haveNo) = true;
  }
  (r ? yesView : noView) = ns;
  return r;
}

bool isArts(std::string_view ns) { return ns.empty() || cached<isArtsUncached>(ns); }

bool isAcsUncached(std::string_view ns) {
  return lower(ns).find("ncr.com/rsd/acs/tlog/markup/poslog") != std::string::npos;
}
bool isAcs(std::string_view ns) { return cached<isAcsUncached>(ns); }

const Node* child(const Node& n, std::string_view name) {
  for (const auto& c : n.children)
    if (c.name == name && isArts(c.ns)) return &c;
  return nullptr;
}

std::vector<const Node*> children(const Node& n, std::string_view name) {
  std::vector<const Node*> out;
  for (const auto& c : n.children)
    if (c.name == name && isArts(c.ns)) out.push_back(&c);
  return out;
}

const Node* acsChild(const Node& n, std::string_view name) {
  for (const auto& c : n.children)
    if (c.name == name && isAcs(c.ns)) return &c;
  return nullptr;
}

std::string_view text(const Node* n) { return n ? trim(n->text) : std::string_view{}; }

std::string_view attr(const Node& n, std::string_view name) {
  for (const auto& a : n.attributes)
    if (a.name == name && isArts(a.ns)) return a.value;
  return {};
}

std::string_view acsAttr(const Node& n, std::string_view name) {
  for (const auto& a : n.attributes)
    if (a.name == name && isAcs(a.ns)) return a.value;
  return {};
}

bool truthy(std::string_view v) {
  const std::string s = lower(trim(v));
  return s == "true" || s == "1" || s == "yes";
}

// A flag given as an attribute or as a child element.
bool flag(const Node& n, std::string_view name) { return truthy(attr(n, name)) || truthy(text(child(n, name))); }

bool voided(const Node& lineItem) {
  return flag(lineItem, "VoidFlag") || flag(lineItem, "CancelFlag");
}

std::string_view storeOf(const Node& n) {
  if (auto s = text(child(n, "RetailStoreID")); !s.empty()) return s;
  if (const Node* bu = child(n, "BusinessUnit")) {
    if (auto s = text(child(*bu, "UnitID")); !s.empty()) return s;
    return text(bu);
  }
  return {};
}

// The key a TransactionLink or PostVoid element points at; what it leaves out is the linking
// transaction's own (same store, same till, same day).
Result<NaturalKey> linkedKey(const Node& link, const NaturalKey& own) {
  NaturalKey k = own;
  if (auto s = storeOf(link); !s.empty()) k.store = std::string(s);
  if (auto w = text(child(link, "WorkstationID")); !w.empty()) k.workstation = std::string(w);
  if (auto d = text(child(link, "BusinessDayDate")); !d.empty()) k.businessDay = std::string(d);
  k.sequence = std::string(text(child(link, "SequenceNumber")));
  if (k.sequence.empty()) k.sequence = std::string(text(child(link, "TransactionID")));
  for (auto [v, what] : {std::pair{std::string_view(k.store), "linked store"},
                         {k.workstation, "linked WorkstationID"},
                         {k.sequence, "linked SequenceNumber"}}) {
    if (auto s = detail::checkIdentifier(v, what); !s) return s.error();
  }
  if (!k.businessDay.empty()) {
    auto d = parseDate(k.businessDay);
    if (!d) return fail("linked BusinessDayDate: " + d.message());
    k.businessDay = formatDate(*d);
  }
  return k;
}

// PostVoid element anywhere in the body, or a TransactionLink whose reason says void.
const Node* findPostVoidLink(const Node& n, int depth = 0) {
  if (depth > 6) return nullptr;
  for (const auto& c : n.children) {
    if (!isArts(c.ns)) continue;
    if (c.name == "PostVoid") {
      if (const Node* l = child(c, "TransactionLink")) return l;
      return &c;
    }
    if (c.name == "TransactionLink" && lower(attr(c, "ReasonCode")).find("void") != std::string::npos) {
      return &c;
    }
    if (c.name == "LineItem" && voided(c)) continue;
    if (const Node* found = findPostVoidLink(c, depth + 1)) return found;
  }
  return nullptr;
}

// Loyalty ids: acs:LoyaltyID, LoyaltyAccount/LoyaltyCard/PrimaryAccountNumber, Customer/CustomerID.
// Voided line items are skipped (a card scanned then voided is not the shopper's).
void findCards(const Node& n, std::vector<std::string_view>& out, int depth = 0) {
  if (depth > 8) return;
  for (const auto& c : n.children) {
    if (isAcs(c.ns) && c.name == "LoyaltyID") {
      out.push_back(trim(c.text));
      continue;
    }
    if (!isArts(c.ns)) {
      if (isAcs(c.ns)) findCards(c, out, depth + 1);
      continue;
    }
    if (c.name == "LineItem" && voided(c)) continue;
    if (c.name == "Tender") continue;  // payment data lives there and is never read
    if (c.name == "LoyaltyAccount") {
      if (const Node* card = child(c, "LoyaltyCard"))
        if (auto pan = text(child(*card, "PrimaryAccountNumber")); !pan.empty()) out.push_back(pan);
      if (auto id = text(child(c, "LoyaltyAccountID")); !id.empty()) out.push_back(id);
      continue;
    }
    if (c.name == "Customer") {
      if (auto id = text(child(c, "CustomerID")); !id.empty()) out.push_back(id);
      findCards(c, out, depth + 1);
      continue;
    }
    findCards(c, out, depth + 1);
  }
}

bool gtinType(std::string_view t) {
  const std::string s = lower(t);
  return s.empty() || s.find("gtin") != std::string::npos || s.find("upc") != std::string::npos ||
         s.find("ean") != std::string::npos;
}

Result<Line> itemLine(const Node& item, bool returnElement, int lineNo, const Transaction& t,
                      const ParseOptions& o) {
  const std::string where = "line " + std::to_string(lineNo);
  Line line;
  line.lineNo = lineNo;
  std::vector<std::string_view> ids;
  bool gtinCandidateOnly = false;
  for (const Node* pid : children(item, "POSIdentity")) {
    if (auto v = text(child(*pid, "POSItemID")); !v.empty()) {
      ids.push_back(v);
      if (!gtinType(attr(*pid, "POSIDType"))) gtinCandidateOnly = true;
    }
  }
  if (auto v = text(child(item, "ItemID")); !v.empty()) ids.push_back(v);
  if (ids.empty()) return fail(where + ": no item id (POSIdentity/POSItemID or ItemID)");
  auto itemCode = detail::code(ids.front(), where + " item id");
  if (!itemCode) return itemCode.error();
  line.itemCode = std::move(*itemCode);
  for (auto id : ids) {
    if (gtinCandidateOnly && id == ids.front()) continue;  // a POSIDType="SKU" is not a GTIN
    if (auto g = Gtin::parse(id)) {
      line.gtin = *g;
      break;
    }
  }
  if (const Node* q = child(item, "Quantity")) {
    std::string_view qt = text(q);
    if (qt.empty()) qt = trim(attr(*q, "Units"));
    auto qty = detail::parseQuantity(qt, where + " Quantity", o.limits);
    if (!qty) return qty.error();
    line.quantity = *qty;
  }
  for (auto name : {"ActualSalesUnitPrice", "RegularSalesUnitPrice", "UnitCostPrice"}) {
    if (auto v = text(child(item, name)); !v.empty()) {
      auto p = detail::parseAmount(v, where + " " + name, t.currency, o.limits);
      if (!p) return p.error();
      line.unitPrice = *p;
      break;
    }
  }
  Money extended;
  if (auto v = text(child(item, "ExtendedAmount")); !v.empty()) {
    auto m = detail::parseAmount(v, where + " ExtendedAmount", t.currency, o.limits);
    if (!m) return m.error();
    extended = *m;
  } else if (line.unitPrice) {
    // price x quantity, quantity in thousandths, rounded half away from zero like the POS does
    const std::int64_t p = line.unitPrice->minor() * line.quantity.milli();
    extended = Money::fromMinor((p >= 0 ? p + 500 : p - 500) / 1000);
  } else {
    return fail(where + ": neither ExtendedAmount nor a unit price");
  }
  std::int64_t discount = 0;
  if (auto v = text(child(item, "DiscountAmount")); !v.empty()) {
    auto m = detail::parseAmount(v, where + " DiscountAmount", t.currency, o.limits);
    if (!m) return m.error();
    discount += std::llabs(m->minor());
  }
  for (const Node* mod : children(item, "RetailPriceModifier")) {
    if (auto v = text(child(*mod, "Amount")); !v.empty()) {
      auto m = detail::parseAmount(v, where + " RetailPriceModifier", t.currency, o.limits);
      if (!m) return m.error();
      discount += std::llabs(m->minor());
    }
  }
  if (discount > std::llabs(extended.minor())) {
    // A line cannot be discounted below zero; it would read as a return, which it is not.
    return fail(where + ": discount exceeds the line amount");
  }
  line.discount = Money::fromMinor(discount);
  const bool negativeSale = line.quantity.milli() < 0 || extended.minor() < 0;
  line.isReturn = returnElement || negativeSale;
  const std::int64_t magnitude = std::llabs(extended.minor()) - discount;
  line.amount = Money::fromMinor(line.isReturn ? -magnitude : magnitude);
  if (line.isReturn && line.quantity.milli() > 0) line.quantity = Quantity::fromMilli(-line.quantity.milli());
  if (const Node* link = child(item, "TransactionLink")) {
    auto k = linkedKey(*link, t.key);
    if (!k) return fail(where + ": " + k.message());
    line.returnOf = *k;
  }
  return line;
}

struct RewardCandidate {
  Redemption r;
  bool summarizedFlagPresent = false;
  bool summarized = false;
};

Result<std::optional<RewardCandidate>> loyaltyReward(const Node& n, int lineNo, const Transaction& t,
                                                     const ParseOptions& o) {
  RewardCandidate c;
  c.r.kind = Redemption::Kind::LoyaltyReward;
  c.r.lineNo = lineNo;
  const std::string where = "line " + std::to_string(lineNo);
  auto promotion = detail::code(text(child(n, "PromotionID")), where + " PromotionID");
  if (!promotion) return promotion.error();
  c.r.promotionId = std::move(*promotion);
  const std::string category = lower(text(acsChild(n, "RewardCategory")));
  // NCR sends receipt and operator messages as rewards: they grant nothing.
  if (category == "other") return std::optional<RewardCandidate>{};
  if (auto offer = text(acsChild(n, "CustomOfferID")); !offer.empty() && offer != "0") {
    auto o2 = detail::code(offer, where + " CustomOfferID");
    if (!o2) return o2.error();
    c.r.offerId = std::move(*o2);
  }
  std::string_view amount = text(child(n, "Amount"));
  if (amount.empty() && category == "monetary") amount = text(acsChild(n, "ExtendedRewardAmount"));
  if (!amount.empty()) {
    auto m = detail::parseAmount(amount, "line " + std::to_string(lineNo) + " reward amount", t.currency, o.limits);
    if (!m) return m.error();
    c.r.amount = Money::fromMinor(std::llabs(m->minor()));
  }
  const auto s = acsAttr(n, "summarizedActivity");
  c.summarizedFlagPresent = !s.empty();
  c.summarized = truthy(s);
  if (c.r.promotionId.empty() && c.r.offerId.empty()) return std::optional<RewardCandidate>{};
  return std::optional<RewardCandidate>{c};
}

Result<Redemption> coupon(const Node& n, int lineNo, const Transaction& t, const ParseOptions& o) {
  Redemption r;
  r.kind = Redemption::Kind::Coupon;
  r.lineNo = lineNo;
  for (auto name : {"ScanCode", "CouponID", "PrimaryLabel", "ItemID"}) {
    if (auto v = text(child(n, name)); !v.empty()) {
      auto c = detail::code(v, "line " + std::to_string(lineNo) + " coupon code");
      if (!c) return c.error();
      r.couponCode = std::move(*c);
      break;
    }
  }
  auto promotion = detail::code(text(child(n, "PromotionID")), "line " + std::to_string(lineNo) + " PromotionID");
  if (!promotion) return promotion.error();
  r.promotionId = std::move(*promotion);
  for (auto name : {"Amount", "ExtendedAmount", "UnitAmount"}) {
    if (auto v = text(child(n, name)); !v.empty()) {
      auto m = detail::parseAmount(v, "line " + std::to_string(lineNo) + " coupon " + name, t.currency, o.limits);
      if (!m) return m.error();
      r.amount = Money::fromMinor(std::llabs(m->minor()));
      break;
    }
  }
  if (r.couponCode.empty() && r.promotionId.empty()) {
    return fail("line " + std::to_string(lineNo) + ": coupon without ScanCode or PromotionID");
  }
  return r;
}

std::string currencyOf(const Node& tx, const Node* body, const ParseOptions& o) {
  if (auto c = text(child(tx, "CurrencyCode")); !c.empty()) return std::string(c);
  if (body) {
    if (auto c = text(child(*body, "CurrencyCode")); !c.empty()) return std::string(c);
    for (const Node* total : children(*body, "Total"))
      if (auto c = trim(attr(*total, "CurrencyCode")); !c.empty()) return std::string(c);
    for (const Node* li : children(*body, "LineItem"))
      if (const Node* sale = child(*li, "Sale"))
        if (const Node* ext = child(*sale, "ExtendedAmount"))
          if (auto c = trim(attr(*ext, "Currency")); !c.empty()) return std::string(c);
  }
  return o.defaultCurrency;
}

Status readBody(Transaction& t, const Node& body, const ParseOptions& o) {
  const std::string status = lower(attr(body, "TransactionStatus"));
  if (status == "suspended" || flag(body, "SuspendFlag") || flag(body, "SuspendedFlag")) t.suspended = true;
  if (status == "cancelled" || status == "canceled" || status == "voided" || flag(body, "CancelFlag")) {
    t.cancelled = true;
  }
  std::vector<RewardCandidate> rewards;
  int position = 0;
  for (const Node* li : children(body, "LineItem")) {
    ++position;
    if (voided(*li)) continue;
    auto seq = parseNumber<int>(text(child(*li, "SequenceNumber")), 1, 1'000'000);
    const int lineNo = seq ? *seq : position;
    if (const Node* sale = child(*li, "Sale")) {
      auto l = itemLine(*sale, false, lineNo, t, o);
      if (!l) return l.error();
      t.lines.push_back(std::move(*l));
    } else if (const Node* ret = child(*li, "Return")) {
      auto l = itemLine(*ret, true, lineNo, t, o);
      if (!l) return l.error();
      if (!l->returnOf)
        if (const Node* link = child(*li, "TransactionLink")) {
          auto k = linkedKey(*link, t.key);
          if (!k) return k.error();
          l->returnOf = *k;
        }
      t.lines.push_back(std::move(*l));
    }
    if (const Node* reward = child(*li, "LoyaltyReward")) {
      auto r = loyaltyReward(*reward, lineNo, t, o);
      if (!r) return r.error();
      if (*r) rewards.push_back(**r);
    }
    if (const Node* c = child(*li, "Coupon")) {
      auto r = coupon(*c, lineNo, t, o);
      if (!r) return r.error();
      t.redemptions.push_back(std::move(*r));
    }
    if (t.lines.size() > o.limits.maxLinesPerTransaction) {
      return fail("more than " + std::to_string(o.limits.maxLinesPerTransaction) + " lines");
    }
  }
  // NCR reports each reward twice, once as detail and once as summary: count the summaries only.
  const bool anySummaryFlag = std::any_of(rewards.begin(), rewards.end(),
                                          [](const RewardCandidate& c) { return c.summarizedFlagPresent; });
  for (auto& c : rewards)
    if (!anySummaryFlag || c.summarized) t.redemptions.push_back(c.r);

  const Node* grand = nullptr;
  const Node* untyped = nullptr;
  for (const Node* total : children(body, "Total")) {
    const auto type = trim(attr(*total, "TotalType"));
    if (type == "TransactionGrandAmount") grand = total;
    if (type.empty() && !untyped) untyped = total;
  }
  if (const Node* chosen = grand ? grand : untyped) {
    auto m = detail::parseAmount(text(chosen), "Total", t.currency, o.limits);
    if (!m) return m.error();
    t.total = *m;
  } else {
    Money sum;
    for (const auto& l : t.lines) sum += l.amount;
    for (const auto& r : t.redemptions) sum -= r.amount;
    t.total = sum;
  }
  return okStatus();
}

TransactionOutcome interpret(const Node& tx, std::size_t index, const ParseOptions& o) {
  TransactionOutcome out;
  out.index = index;
  Transaction t;
  t.source = "poslog";
  t.key.org = o.org;
  t.key.store = std::string(storeOf(tx));
  t.key.workstation = std::string(text(child(tx, "WorkstationID")));
  t.key.sequence = std::string(text(child(tx, "SequenceNumber")));
  t.key.businessDay = std::string(text(child(tx, "BusinessDayDate")));
  out.reference = t.key.str();
  auto reject = [&](std::string reason) {
    out.kind = TransactionOutcome::Kind::Rejected;
    out.reason = std::move(reason);
    return out;
  };
  for (auto [v, what] : {std::pair{std::string_view(t.key.store), "RetailStoreID"},
                         {t.key.workstation, "WorkstationID"},
                         {t.key.sequence, "SequenceNumber"}}) {
    if (auto s = detail::checkIdentifier(v, what); !s) return reject(s.message());
  }
  const Node* retail = child(tx, "RetailTransaction");
  const Node* postVoidLink = findPostVoidLink(tx);
  if (!retail && !postVoidLink) {
    out.kind = TransactionOutcome::Kind::Skipped;
    out.reason = "not a retail transaction";
    for (const auto& c : tx.children)
      if (isArts(c.ns) && c.name.size() > 11 && c.name.find("Transaction") != std::string::npos) {
        out.reason = std::string(c.name) + " is not a sale";
        break;
      }
    return out;
  }
  t.currency = currencyOf(tx, retail, o);
  t.training = flag(tx, "TrainingModeFlag") || (retail && flag(*retail, "TrainingModeFlag"));
  t.cancelled = flag(tx, "CancelFlag");
  t.suspended = flag(tx, "SuspendFlag");
  std::string_view end = text(child(tx, "EndDateTime"));
  if (end.empty()) end = text(child(tx, "BeginDateTime"));
  if (end.empty() && retail) end = text(child(*retail, "ReceiptDateTime"));
  if (auto s = detail::resolveTimes(t, end, o); !s) return reject(s.message());
  out.reference = t.key.str();
  if (postVoidLink) {
    auto k = linkedKey(*postVoidLink, t.key);
    if (!k) return reject("post-void: " + k.message());
    if (*k == t.key) return reject("post-void links to itself");
    t.postVoidOf = *k;
  } else if (auto s = readBody(t, *retail, o); !s) {
    return reject(s.message());
  }
  std::vector<std::string_view> cards;
  findCards(tx, cards);
  for (auto c : cards) detail::assignCard(t, c, o);
  if (auto s = detail::finish(t, o); !s) return reject(s.message());
  out.kind = TransactionOutcome::Kind::Parsed;
  out.transaction = std::move(t);
  return out;
}

}  // namespace

Result<ParsedDocument> parsePosLog(std::string_view bytes, const ParseOptions& o) {
  ++tDocument;
  auto root = xml::parse(bytes, {o.limits.maxBytes, o.limits.maxDepth, o.limits.maxElements});
  if (!root) return root.error();
  const Node& r = (*root)->root();
  if (!isArts(r.ns)) return fail("root element is in namespace '" + std::string(r.ns.substr(0, 80)) + "', not ARTS POSLog");
  std::vector<const Node*> txs;
  if (r.name == "POSLog") {
    txs = children(r, "Transaction");
  } else if (r.name == "Transaction") {
    txs.push_back(&r);
  } else {
    return fail("root element <" + std::string(r.name.substr(0, 40)) + "> is neither POSLog nor Transaction");
  }
  if (txs.size() > o.limits.maxTransactions) {
    return fail("more than " + std::to_string(o.limits.maxTransactions) + " transactions in one document");
  }
  ParsedDocument doc;
  for (std::size_t i = 0; i < txs.size(); ++i) doc.items.push_back(interpret(*txs[i], i, o));
  return doc;
}

Result<ParsedDocument> parseAny(std::string_view bytes, const ParseOptions& o) {
  std::string_view t = bytes;
  if (t.size() >= 2 && (t[0] == '\xFE' || t[0] == '\xFF')) return parsePosLog(bytes, o);  // says UTF-16
  if (t.substr(0, 3) == "\xEF\xBB\xBF") t.remove_prefix(3);
  t = trim(t);
  if (t.empty()) return fail("document is empty");
  if (t.front() == '<') return parsePosLog(bytes, o);
  if (t.front() == '{' || t.front() == '[') return parseTransactionJson(bytes, o);
  return fail("document is neither XML nor JSON");
}

}  // namespace aisle::pos
