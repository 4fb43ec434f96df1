#include "aisle/gateway/pipeline.h"

#include <algorithm>
#include <charconv>

namespace aisle::gateway {
namespace {

constexpr char kHex[] = "0123456789abcdef";

template <std::size_t N>
void appendHexBytes(std::string& out, const std::array<std::uint8_t, N>& bytes, std::size_t from = 0,
                    std::size_t to = N) {
  for (std::size_t i = from; i < to; ++i) {
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xF]);
  }
}

void appendNumber(std::string& out, unsigned v) {
  char buf[8];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

bool isIdentityFrame(AdvertKind k) {
  return k == AdvertKind::EddystoneEid || k == AdvertKind::IBeacon || k == AdvertKind::AltBeacon;
}

}  // namespace

std::string_view adapterStateName(AdapterState state) {
  switch (state) {
    case AdapterState::Starting: return "starting";
    case AdapterState::BluezGone: return "bluez-gone";
    case AdapterState::Absent: return "absent";
    case AdapterState::Off: return "off";
    case AdapterState::Discovering: return "discovering";
    case AdapterState::NotScanning: return "not-scanning";
  }
  return "?";
}

bool beaconIdOf(const Advert& a, std::string& out) {
  out.clear();
  switch (a.kind) {
    case AdvertKind::EddystoneEid:
      out.append("eid:");
      appendHexBytes(out, a.eid);
      return true;
    case AdvertKind::IBeacon:
      out.append("ibeacon:");
      appendHexBytes(out, a.uuid, 0, 4);
      out.push_back('-');
      appendHexBytes(out, a.uuid, 4, 6);
      out.push_back('-');
      appendHexBytes(out, a.uuid, 6, 8);
      out.push_back('-');
      appendHexBytes(out, a.uuid, 8, 10);
      out.push_back('-');
      appendHexBytes(out, a.uuid, 10, 16);
      out.push_back(':');
      appendNumber(out, a.major);
      out.push_back(':');
      appendNumber(out, a.minor);
      return true;
    case AdvertKind::AltBeacon:
      out.append("altbeacon:");
      appendHexBytes(out, a.beaconId);
      return true;
    default:
      return false;
  }
}

std::string canonicalBeaconId(std::string_view id) {
  std::string out(id);
  for (std::string_view prefix : {"ibeacon:", "altbeacon:", "eid:"}) {
    if (id.substr(0, prefix.size()) == prefix) {
      std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      });
      break;
    }
  }
  return out;
}

bool IBeaconRange::contains(const Advert& a) const {
  return a.kind == AdvertKind::IBeacon && a.uuid == uuid && a.major >= majorLo && a.major <= majorHi &&
         a.minor >= minorLo && a.minor <= minorHi;
}

bool PrivacyPolicy::allows(const Advert& a, const std::string& id) const {
  if (a.kind == AdvertKind::EddystoneEid) return forwardEid;
  if (a.kind == AdvertKind::IBeacon) {
    if (std::find(ibeaconUuids.begin(), ibeaconUuids.end(), a.uuid) != ibeaconUuids.end()) return true;
    for (const IBeaconRange& r : ibeaconRanges) {
      if (r.contains(a)) return true;
    }
  }
  return beaconIds.contains(id);
}

AdvertPipeline::AdvertPipeline(std::string scanner, PrivacyPolicy policy, SightingSink& tracker,
                               const Clock& clock)
    : scanner_(std::move(scanner)), policy_(std::move(policy)), tracker_(&tracker), clock_(clock) {
  scratch_.reserve(64);
}

void AdvertPipeline::reset(PrivacyPolicy policy, SightingSink& tracker) {
  policy_ = std::move(policy);
  tracker_ = &tracker;
  // Interest depends on the policy: decide again from the next payload of each device.
  devices_.clear();
  stats_.devicesKnown = 0;
  std::erase_if(telemetry_, [this](const auto& kv) { return !policy_.beaconIds.contains(kv.first); });
}

void AdvertPipeline::keepTelemetry(Device& d) {
  // Only configured fixed beacons: a shopper's fob sending TLM must leave no trace here.
  if (!d.tlmPending || !d.interest || !policy_.beaconIds.contains(d.beacon)) return;
  telemetry_[d.beacon] = d.tlm;
  d.tlmPending = false;
}

void AdvertPipeline::consider(Device& d, const Advert& a) {
  if (a.issue != DecodeIssue::None) ++stats_.malformedPayloads;
  // TLM rides along with the identity frames of the same beacon: it must not change its identity,
  // but its battery and temperature belong to that identity.
  if (a.kind == AdvertKind::EddystoneTlm) {
    if (!a.hasTelemetry) return;
    d.tlm.batteryMv = a.batteryMv;
    d.tlm.hasTemperature = a.hasTemperature;
    d.tlm.temperatureC = d.tlm.hasTemperature ? a.temperatureC() : 0.0;
    d.tlm.tMs = clock_.nowUnixMs();
    d.tlmPending = true;
    keepTelemetry(d);
    return;
  }
  if (a.kind == AdvertKind::None) return;
  d.decided = true;
  if (!isIdentityFrame(a.kind) || !beaconIdOf(a, scratch_) || !policy_.allows(a, scratch_)) {
    // UID/URL frames, and iBeacons/AltBeacons of no interest: known, but never forwarded.
    if (!d.interest) d.beacon.clear();
    return;
  }
  d.interest = true;
  d.beacon = scratch_;
  keepTelemetry(d);
}

void AdvertPipeline::learnPayload(Device& d, const DeviceReport& r) {
  if (r.hasManufacturerData) {
    for (const ManufacturerEntry& m : r.manufacturerData) consider(d, decodeManufacturerData(m.companyId, m.data));
  }
  if (r.hasServiceData) {
    for (const ServiceEntry& s : r.serviceData) consider(d, decodeServiceData(s.uuid, s.data));
  }
}

void AdvertPipeline::onDeviceReport(const DeviceReport& r) {
  ++stats_.reports;
  auto [it, inserted] = devices_.try_emplace(r.device);
  if (inserted) stats_.devicesKnown = devices_.size();
  Device& d = it->second;
  const bool payload = r.hasManufacturerData || r.hasServiceData;
  if (payload) learnPayload(d, r);
  if (r.hasRssi) {
    d.hasRssi = true;
    d.lastRssi = r.rssi;
  } else if (!payload) {
    return;  // neither an advert nor new identity: e.g. a name or a TxPower change
  }
  if (!d.interest) {
    ++stats_.notOfInterest;
    return;
  }
  if (!d.hasRssi) {
    ++stats_.noRssiYet;
    return;
  }
  ++stats_.sightings;
  tracker_->onSighting(scanner_, d.beacon, d.lastRssi, clock_.nowUnixMs());
}

void AdvertPipeline::onDeviceGone(std::uint64_t device) {
  devices_.erase(device);
  stats_.devicesKnown = devices_.size();
}

void AdvertPipeline::tick() {
  const std::int64_t now = clock_.nowUnixMs();
  // Only a discovering adapter counts as a live scanner: otherwise the tracker's silence logic
  // takes over (and beacons exit on their timeouts rather than being held in place).
  if (adapterState_ == AdapterState::Discovering) tracker_->onScannerHeartbeat(scanner_, now);
  tracker_->advance(now);
}

}  // namespace aisle::gateway
