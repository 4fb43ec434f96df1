#include "aisle/pos/transaction.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Stringifier.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "aisle/common/hmac.h"
#include "aisle/pos/time_zone.h"
#include "common.h"

namespace aisle::pos {
namespace {

// Length-prefixed fields: no separator inside a value (a '|' in an item code) can shift another.
void field(std::string& out, std::string_view v) {
  out += std::to_string(v.size());
  out += ':';
  out.append(v);
  out += ';';
}

void keyFields(std::string& out, const std::optional<NaturalKey>& k) {
  if (!k) {
    field(out, "-");
    return;
  }
  for (const auto* v : {&k->org, &k->store, &k->workstation, &k->businessDay, &k->sequence}) field(out, *v);
}

std::string isoUtc(std::int64_t ms) {
  const std::int64_t floorDays = (ms >= 0 ? ms : ms - 86'399'999) / 86'400'000;
  const std::int64_t msOfDay = ms - floorDays * 86'400'000;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%sT%02d:%02d:%02d.%03dZ", formatDate(floorDays).c_str(),
                static_cast<int>(msOfDay / 3'600'000), static_cast<int>(msOfDay / 60'000 % 60),
                static_cast<int>(msOfDay / 1000 % 60), static_cast<int>(msOfDay % 1000));
  return buf;
}

Poco::JSON::Object::Ptr keyJson(const NaturalKey& k) {
  Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
  o->set("org", k.org);
  o->set("store", k.store);
  o->set("workstation", k.workstation);
  o->set("business_day", k.businessDay);
  o->set("sequence", k.sequence);
  return o;
}

const char* kindName(Redemption::Kind k) {
  return k == Redemption::Kind::LoyaltyReward ? "loyalty_reward" : "coupon";
}

}  // namespace

std::string NaturalKey::str() const {
  return org + "/" + store + "/" + workstation + "/" + businessDay + "/" + sequence;
}

std::string canonicalContent(const Transaction& t) {
  std::string out = "aisle-transaction-v1;";
  keyFields(out, t.key);
  field(out, std::to_string(t.occurredAtMs));
  field(out, t.currency);
  field(out, t.card ? t.card->str() : "-");
  field(out, std::string(t.training ? "T" : "t") + (t.suspended ? "S" : "s") + (t.cancelled ? "C" : "c"));
  keyFields(out, t.postVoidOf);
  field(out, std::to_string(t.total.minor()));
  std::vector<const Line*> lines;
  for (const auto& l : t.lines) lines.push_back(&l);
  std::stable_sort(lines.begin(), lines.end(), [](const Line* a, const Line* b) { return a->lineNo < b->lineNo; });
  for (const Line* l : lines) {
    field(out, "L");
    field(out, std::to_string(l->lineNo));
    field(out, l->gtin ? l->gtin->str() : "-");
    field(out, l->itemCode);
    field(out, std::to_string(l->quantity.milli()));
    field(out, l->unitPrice ? std::to_string(l->unitPrice->minor()) : "-");
    field(out, std::to_string(l->amount.minor()));
    field(out, std::to_string(l->discount.minor()));
    field(out, l->isReturn ? "R" : "r");
    keyFields(out, l->returnOf);
  }
  for (const auto& r : t.redemptions) {
    field(out, "P");
    field(out, kindName(r.kind));
    field(out, r.promotionId);
    field(out, r.offerId);
    field(out, r.couponCode);
    field(out, std::to_string(r.amount.minor()));
    field(out, std::to_string(r.lineNo));
  }
  return out;
}

std::string contentHashHex(const Transaction& t) { return sha256Hex(canonicalContent(t)); }

std::string toJson(const Transaction& t, bool maskCard) {
  // Amounts are strings ("1.26"): JSON numbers are doubles to most readers.
  const int digits = detail::currencyDigits(t.currency);
  Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("org", t.key.org);
  o.set("store", t.key.store);
  o.set("workstation", t.key.workstation);
  o.set("business_day", t.key.businessDay);
  o.set("sequence", t.key.sequence);
  o.set("ended_at", isoUtc(t.occurredAtMs));
  o.set("currency", t.currency);
  if (t.card) o.set("card", maskCard ? t.card->masked() : t.card->str());
  o.set("training", t.training);
  o.set("suspended", t.suspended);
  o.set("cancelled", t.cancelled);
  if (t.postVoidOf) o.set("post_void_of", keyJson(*t.postVoidOf));
  Poco::JSON::Array::Ptr lines = new Poco::JSON::Array;
  for (const auto& l : t.lines) {
    Poco::JSON::Object::Ptr j = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    j->set("line", l.lineNo);
    j->set("item", l.itemCode);
    if (l.gtin) {
      j->set("gtin", l.gtin->str());
    } else {
      j->set("gtin", Poco::Dynamic::Var());  // null: the item code is not a GTIN, whatever it looks like
    }
    j->set("quantity", l.quantity.str());
    if (l.unitPrice) j->set("unit_price", l.unitPrice->str(digits));
    j->set("amount", l.amount.str(digits));
    j->set("discount", l.discount.str(digits));
    j->set("return", l.isReturn);
    if (l.returnOf) j->set("return_of", keyJson(*l.returnOf));
    lines->add(j);
  }
  o.set("lines", lines);
  Poco::JSON::Array::Ptr reds = new Poco::JSON::Array;
  for (const auto& r : t.redemptions) {
    Poco::JSON::Object::Ptr j = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    j->set("kind", std::string(kindName(r.kind)));
    if (!r.promotionId.empty()) j->set("promotion", r.promotionId);
    if (!r.offerId.empty()) j->set("offer", r.offerId);
    if (!r.couponCode.empty()) j->set("code", r.couponCode);
    j->set("amount", r.amount.str(digits));
    j->set("line", r.lineNo);
    reds->add(j);
  }
  o.set("redemptions", reds);
  o.set("total", t.total.str(digits));
  std::ostringstream s;
  o.stringify(s);
  return s.str();
}

}  // namespace aisle::pos
