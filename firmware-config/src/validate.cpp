// Cross-checks between tables. Each rule reports at the value that is wrong (the second of two
// duplicates, the reference that points nowhere) and names the other place in its hint.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "aisle/fwconfig/fleet.h"
#include "toml_reader.h"

namespace aisle::fwconfig {
namespace {

using detail::suggest;

class Validator {
 public:
  Validator(const Fleet& f, const std::string& file) : f_(f), file_(file) {}

  std::vector<Diagnostic> run() {
    stores();
    zones();
    gateways();
    beacons();
    plans();
    hubs();
    return std::move(out_);
  }

 private:
  void add(SourcePos pos, std::string message, std::string hint) {
    out_.push_back({file_, pos, std::move(message), std::move(hint)});
  }
  static std::string lineOf(const KeyPositions& p, const std::string& key) {
    return "line " + std::to_string(p.at(key).line);
  }

  // Reports a store reference to a store that does not exist; true when it exists.
  bool storeExists(StoreId id, const KeyPositions& pos, const std::string& label) {
    if (id.value() == 0) return false;  // already reported by the parser
    if (f_.store(id)) return true;
    // Store ids are numbers: "did you mean" by spelling would be noise, so list them instead.
    std::string ids;
    for (const auto& s : f_.stores) ids += (ids.empty() ? "" : ", ") + std::to_string(s.id.value());
    add(pos.at("store"), label + ": store " + std::to_string(id.value()) + " is not defined",
        ids.empty() ? "no [[stores]] are defined" : "defined stores: " + ids);
    return false;
  }

  void zoneExists(StoreId store, const std::string& zone, const KeyPositions& pos,
                  const std::string& label) {
    if (zone.empty() || f_.zone(store, zone)) return;
    std::vector<std::string> names;
    for (const auto& z : f_.zones)
      if (z.store == store) names.push_back(z.name);
    const std::string storeName = "store " + std::to_string(store.value());
    std::string hint = suggest(zone, names, "zone");
    if (names.empty())
      hint = storeName + " has no [[zones]]; add one with store = " + std::to_string(store.value());
    else if (hint.rfind("known", 0) == 0)
      hint = "zones of " + storeName + ": " + hint.substr(hint.find(": ") + 2);
    add(pos.at("zone"), label + ": zone '" + zone + "' is not defined in " + storeName, hint);
  }

  template <typename Key>
  void unique(std::map<Key, const KeyPositions*>& seen, const Key& key, const KeyPositions& pos,
              const std::string& field, const std::string& message) {
    auto [it, inserted] = seen.emplace(key, &pos);
    if (!inserted) add(pos.at(field), message, "first defined at " + lineOf(*it->second, field));
  }

  void stores() {
    std::map<std::int64_t, const KeyPositions*> ids;
    for (const auto& s : f_.stores) {
      if (s.id.value() == 0) continue;
      unique(ids, s.id.value(), s.pos, "id", "duplicate store id " + std::to_string(s.id.value()));
    }
  }

  void zones() {
    std::map<std::int64_t, const KeyPositions*> ids;
    std::map<std::pair<std::int64_t, std::string>, const KeyPositions*> names;
    for (const auto& z : f_.zones) {
      const std::string label = "zone " + std::to_string(z.id);
      if (z.id != 0) unique(ids, z.id, z.pos, "id", "duplicate zone id " + std::to_string(z.id));
      if (!storeExists(z.store, z.pos, label) || z.name.empty()) continue;
      unique(names, std::make_pair(z.store.value(), z.name), z.pos, "name",
             label + ": store " + std::to_string(z.store.value()) + " already has a zone named '" +
                 z.name + "'");
    }
  }

  void gateways() {
    std::map<std::string, const KeyPositions*> ids, keys;
    for (const auto& g : f_.gateways) {
      const std::string label = "gateway '" + g.id + "'";
      if (!g.id.empty()) unique(ids, g.id, g.pos, "id", "duplicate gateway id '" + g.id + "'");
      if (!g.keyId.empty())
        unique(keys, g.keyId, g.pos, "key_id",
               label + ": key_id '" + g.keyId + "' is already used by another gateway");
      if (storeExists(g.store, g.pos, label)) zoneExists(g.store, g.zone, g.pos, label);
    }
  }

  void beacons() {
    std::map<std::string, const KeyPositions*> ids, altIds, uids;
    std::map<std::tuple<std::string, int, int>, const KeyPositions*> ibeacons;
    for (const auto& b : f_.beacons) {
      const std::string label = "beacon '" + b.id + "'";
      if (!b.id.empty()) unique(ids, b.id, b.pos, "id", "duplicate beacon id '" + b.id + "'");
      if (storeExists(b.store, b.pos, label)) zoneExists(b.store, b.zone, b.pos, label);
      switch (b.type) {
        case BeaconType::IBeacon:
          if (b.uuid.size() != 36) break;
          unique(ibeacons, std::make_tuple(b.uuid, int{b.major}, int{b.minor}), b.pos, "minor",
                 label + ": iBeacon " + b.uuid + " " + std::to_string(b.major) + "/" +
                     std::to_string(b.minor) + " is already used by another beacon");
          for (const auto& p : f_.plans) {
            if (p.purpose == PlanPurpose::Fixed || p.uuid != b.uuid) continue;
            if (b.major >= p.majorLo && b.major <= p.majorHi && b.minor >= p.minorLo &&
                b.minor <= p.minorHi)
              add(b.pos.at("minor"),
                  label + ": iBeacon " + std::to_string(b.major) + "/" + std::to_string(b.minor) +
                      " lies inside iBeacon plan '" + p.id + "' (" + planPurposeName(p.purpose) +
                      ")",
                  "fixed beacons must use numbers outside fobs and reserved plans; plan '" + p.id +
                      "' is at " + lineOf(p.pos, "id"));
          }
          break;
        case BeaconType::AltBeacon:
          if (!b.beaconId.empty())
            unique(altIds, b.beaconId, b.pos, "beacon_id",
                   label + ": AltBeacon id is already used by another beacon");
          break;
        case BeaconType::EddystoneUid:
          if (!b.namespaceId.empty() && !b.instanceId.empty())
            unique(uids, b.namespaceId + b.instanceId, b.pos, "instance",
                   label + ": Eddystone-UID namespace/instance is already used by another beacon");
          break;
        case BeaconType::EddystoneEid:
          break;
      }
    }
  }

  void plans() {
    std::map<std::string, const KeyPositions*> ids;
    for (std::size_t i = 0; i < f_.plans.size(); ++i) {
      const IBeaconPlan& p = f_.plans[i];
      const std::string label = "iBeacon plan '" + p.id + "'";
      if (!p.id.empty()) unique(ids, p.id, p.pos, "id", "duplicate iBeacon plan id '" + p.id + "'");
      if (p.store) storeExists(*p.store, p.pos, label);
      if (p.uuid.size() != 36) continue;
      for (std::size_t j = 0; j < i; ++j) {
        const IBeaconPlan& q = f_.plans[j];
        const bool overlap = q.uuid == p.uuid && p.majorLo <= q.majorHi && q.majorLo <= p.majorHi &&
                             p.minorLo <= q.minorHi && q.minorLo <= p.minorHi;
        if (!overlap) continue;
        add(p.pos.at("major"),
            label + ": major " + range(p.majorLo, p.majorHi) + " minor " +
                range(p.minorLo, p.minorHi) + " overlaps iBeacon plan '" + q.id + "' (major " +
                range(q.majorLo, q.majorHi) + " minor " + range(q.minorLo, q.minorHi) + ")",
            "plans under one UUID must not share a major/minor pair; '" + q.id + "' is at " +
                lineOf(q.pos, "id"));
      }
    }
  }

  static std::string range(int lo, int hi) {
    return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
  }

  // Each store with gateways needs exactly one hub to arbitrate zones; scanners must reach it.
  void hubs() {
    for (const auto& s : f_.stores) {
      std::vector<const Gateway*> inStore, hubsInStore;
      for (const auto& g : f_.gateways) {
        if (g.store != s.id) continue;
        inStore.push_back(&g);
        if (arbitrates(g.role)) hubsInStore.push_back(&g);
      }
      const std::string label = "store " + std::to_string(s.id.value());
      if (!inStore.empty() && hubsInStore.empty()) {
        add(s.pos.at("id"), label + ": has gateways but no hub",
            "give one gateway role = \"hub\" or \"both\"; a one-Pi store uses \"both\"");
      }
      for (std::size_t i = 1; i < hubsInStore.size(); ++i) {
        add(hubsInStore[i]->pos.at("role"),
            label + ": gateway '" + hubsInStore[i]->id + "' is a second hub",
            "one hub per store arbitrates zones; '" + hubsInStore[0]->id + "' at " +
                lineOf(hubsInStore[0]->pos, "role") + " is the first; make the others scanners");
      }
      if (hubsInStore.size() == 1 && inStore.size() > 1 && hubsInStore[0]->address.empty()) {
        add(hubsInStore[0]->pos.at("id"),
            "gateway '" + hubsInStore[0]->id + "': hub of a store with scanners needs an address",
            "set address = \"host:port\" so the store's scanners can reach the hub");
      }
    }
  }

  const Fleet& f_;
  std::string file_;
  std::vector<Diagnostic> out_;
};

}  // namespace

std::vector<Diagnostic> validateFleet(const Fleet& fleet, const std::string& fileName) {
  return Validator(fleet, fileName).run();
}

FleetCheck checkFleet(std::string_view text, const std::string& fileName) {
  FleetCheck c = parseFleet(text, fileName);
  // A file that does not parse has no tables to cross-check.
  const bool syntaxError =
      !c.problems.empty() && c.problems.front().message.rfind("TOML syntax", 0) == 0;
  if (!syntaxError) {
    auto more = validateFleet(c.fleet, fileName);
    c.problems.insert(c.problems.end(), more.begin(), more.end());
  }
  std::stable_sort(c.problems.begin(), c.problems.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
                   });
  return c;
}

}  // namespace aisle::fwconfig
