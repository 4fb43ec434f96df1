#include "aisle/gateway/advert.h"

#include <algorithm>

#include "aisle/gateway/json.h"

namespace aisle::gateway {
namespace {

constexpr std::uint8_t kAdManufacturerData = 0xFF;
constexpr std::uint8_t kAdServiceData16 = 0x16;
constexpr std::uint16_t kAppleCompanyId = 0x004C;
constexpr std::uint16_t kEddystoneUuid16 = 0xFEAA;

// Eddystone frame types (google/eddystone protocol-specification).
constexpr std::uint8_t kFrameUid = 0x00;
constexpr std::uint8_t kFrameUrl = 0x10;
constexpr std::uint8_t kFrameTlm = 0x20;
constexpr std::uint8_t kFrameEid = 0x30;

using Bytes = std::span<const std::uint8_t>;

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint32_t be32(const std::uint8_t* p) {
  return (static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
         (static_cast<std::uint32_t>(p[2]) << 8) | p[3];
}

Advert withIssue(DecodeIssue issue, std::size_t offset = 0) {
  Advert a;
  a.issue = issue;
  a.issueOffset = static_cast<std::uint16_t>(std::min<std::size_t>(offset, 0xFFFF));
  return a;
}

// Manufacturer data after the company id.
Advert decodeManufacturer(std::uint16_t company, Bytes d) {
  // iBeacon: Apple's company id, subtype 0x02, sub-length 0x15 (21 bytes follow).
  if (company == kAppleCompanyId && d.size() >= 2 && d[0] == 0x02 && d[1] == 0x15) {
    if (d.size() != 23) return withIssue(DecodeIssue::IBeaconWrongLength);
    Advert a;
    a.kind = AdvertKind::IBeacon;
    std::copy_n(d.begin() + 2, 16, a.uuid.begin());
    a.major = be16(&d[18]);
    a.minor = be16(&d[20]);
    a.txPower = static_cast<std::int8_t>(d[22]);
    a.hasTxPower = true;
    return a;
  }
  // AltBeacon: any company id, beacon code 0xBEAC, 20-byte id, reference RSSI, reserved byte; the
  // spec fixes the record length (0x1B), so other lengths are not AltBeacons.
  if (d.size() >= 2 && d[0] == 0xBE && d[1] == 0xAC) {
    if (d.size() != 24) return withIssue(DecodeIssue::AltBeaconWrongLength);
    Advert a;
    a.kind = AdvertKind::AltBeacon;
    a.companyId = company;
    std::copy_n(d.begin() + 2, 20, a.beaconId.begin());
    a.referenceRssi = static_cast<std::int8_t>(d[22]);
    a.mfgReserved = d[23];
    return a;
  }
  return Advert{};
}

constexpr std::string_view kUrlSchemes[] = {"http://www.", "https://www.", "http://", "https://"};
constexpr std::string_view kUrlExpansions[] = {".com/", ".org/", ".edu/", ".net/", ".info/",
                                               ".biz/", ".gov/", ".com",  ".org",  ".edu",
                                               ".net",  ".info", ".biz",  ".gov"};

Advert decodeEddystone(Bytes f) {
  if (f.size() < 2) return withIssue(DecodeIssue::EddystoneTooShort);
  Advert a;
  switch (f[0]) {
    case kFrameUid:
      // type, tx, namespace(10), instance(6), then 2 reserved bytes that many beacons omit.
      if (f.size() != 18 && f.size() != 20) return withIssue(DecodeIssue::EddystoneWrongLength);
      a.kind = AdvertKind::EddystoneUid;
      a.txPower = static_cast<std::int8_t>(f[1]);
      a.hasTxPower = true;
      std::copy_n(f.begin() + 2, 10, a.namespaceId.begin());
      std::copy_n(f.begin() + 12, 6, a.instance.begin());
      return a;
    case kFrameUrl: {
      // type, tx, scheme, 1..17 encoded bytes.
      if (f.size() < 3) return withIssue(DecodeIssue::EddystoneTooShort);
      if (f.size() > 20) return withIssue(DecodeIssue::EddystoneWrongLength);
      if (f[2] >= std::size(kUrlSchemes)) return withIssue(DecodeIssue::EddystoneUrlBadScheme, 2);
      std::size_t n = 0;
      auto put = [&](std::string_view s) {
        std::copy(s.begin(), s.end(), a.url.begin() + static_cast<std::ptrdiff_t>(n));
        n += s.size();
      };
      put(kUrlSchemes[f[2]]);
      for (std::size_t i = 3; i < f.size(); ++i) {
        const std::uint8_t c = f[i];
        if (c < std::size(kUrlExpansions)) {
          put(kUrlExpansions[c]);
        } else if (c > 0x20 && c < 0x7F) {
          a.url[n++] = static_cast<char>(c);
        } else {
          return withIssue(DecodeIssue::EddystoneUrlReservedByte, i);
        }
      }
      a.kind = AdvertKind::EddystoneUrl;
      a.urlLength = static_cast<std::uint8_t>(n);
      a.txPower = static_cast<std::int8_t>(f[1]);
      a.hasTxPower = true;
      return a;
    }
    case kFrameTlm:
      if (f[1] == 0x00) {  // plain: type, version, battery(2), temp(2), adv count(4), sec count(4)
        if (f.size() != 14) return withIssue(DecodeIssue::EddystoneWrongLength);
        a.kind = AdvertKind::EddystoneTlm;
        a.hasTelemetry = true;
        a.batteryMv = be16(&f[2]);
        a.temperatureRaw = static_cast<std::int16_t>(be16(&f[4]));
        a.hasTemperature = be16(&f[4]) != 0x8000;
        a.advCount = be32(&f[6]);
        a.secCount = be32(&f[10]);
        return a;
      }
      if (f[1] == 0x01) {  // encrypted: type, version, 12-byte ETLM, salt(2), MIC(2)
        if (f.size() != 18) return withIssue(DecodeIssue::EddystoneWrongLength);
        a.kind = AdvertKind::EddystoneTlm;
        return a;
      }
      return withIssue(DecodeIssue::EddystoneTlmUnknownVersion, 1);
    case kFrameEid:
      if (f.size() != 10) return withIssue(DecodeIssue::EddystoneWrongLength);
      a.kind = AdvertKind::EddystoneEid;
      a.txPower = static_cast<std::int8_t>(f[1]);
      a.hasTxPower = true;
      std::copy_n(f.begin() + 2, 8, a.eid.begin());
      return a;
    default:
      return withIssue(DecodeIssue::EddystoneUnknownFrame);
  }
}

Advert shifted(Advert a, std::size_t base) {
  if (a.issue != DecodeIssue::None) {
    a.issueOffset = static_cast<std::uint16_t>(std::min<std::size_t>(a.issueOffset + base, 0xFFFF));
  }
  return a;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void appendHex(std::string& out, std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const std::uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
}

}  // namespace

std::string_view kindName(AdvertKind kind) {
  switch (kind) {
    case AdvertKind::IBeacon: return "ibeacon";
    case AdvertKind::AltBeacon: return "altbeacon";
    case AdvertKind::EddystoneUid: return "eddystone-uid";
    case AdvertKind::EddystoneUrl: return "eddystone-url";
    case AdvertKind::EddystoneTlm: return "eddystone-tlm";
    case AdvertKind::EddystoneEid: return "eddystone-eid";
    case AdvertKind::None: break;
  }
  return "none";
}

std::string_view issueText(DecodeIssue issue) {
  switch (issue) {
    case DecodeIssue::None: return "";
    case DecodeIssue::OddHexLength: return "odd number of hex digits";
    case DecodeIssue::InvalidHexDigit: return "invalid hex digit";
    case DecodeIssue::TooLong: return "advert longer than 1650 bytes";
    case DecodeIssue::TruncatedAdStructure: return "AD structure runs past the end of the advert";
    case DecodeIssue::IBeaconWrongLength: return "iBeacon record has the wrong length";
    case DecodeIssue::AltBeaconWrongLength: return "AltBeacon record has the wrong length";
    case DecodeIssue::EddystoneTooShort: return "Eddystone frame too short";
    case DecodeIssue::EddystoneWrongLength: return "Eddystone frame has the wrong length";
    case DecodeIssue::EddystoneUnknownFrame: return "unknown Eddystone frame type";
    case DecodeIssue::EddystoneUrlBadScheme: return "Eddystone-URL scheme prefix out of range";
    case DecodeIssue::EddystoneUrlReservedByte: return "Eddystone-URL contains a reserved byte";
    case DecodeIssue::EddystoneTlmUnknownVersion: return "unknown Eddystone-TLM version";
  }
  return "unknown issue";
}

Advert decodeManufacturerData(std::uint16_t companyId, std::span<const std::uint8_t> data) {
  return decodeManufacturer(companyId, data);
}

Advert decodeServiceData16(std::uint16_t uuid16, std::span<const std::uint8_t> data) {
  if (uuid16 != kEddystoneUuid16) return Advert{};
  return decodeEddystone(data);
}

Advert decodeServiceData(std::string_view uuid, std::span<const std::uint8_t> data) {
  // A 16-bit UUID in the Bluetooth base form: 0000XXXX-0000-1000-8000-00805f9b34fb.
  constexpr std::string_view kBaseSuffix = "-0000-1000-8000-00805f9b34fb";
  std::string_view short16;
  if (uuid.size() == 36 && uuid.substr(0, 4) == "0000") {
    std::string_view suffix = uuid.substr(8);
    bool same = suffix.size() == kBaseSuffix.size();
    for (std::size_t i = 0; same && i < suffix.size(); ++i) {
      const char c = suffix[i] >= 'A' && suffix[i] <= 'Z' ? static_cast<char>(suffix[i] + 32) : suffix[i];
      same = c == kBaseSuffix[i];
    }
    if (same) short16 = uuid.substr(4, 4);
  } else if (uuid.size() == 4) {
    short16 = uuid;
  }
  if (short16.empty()) return Advert{};
  std::uint16_t v = 0;
  for (const char c : short16) {
    const int h = hexDigit(c);
    if (h < 0) return Advert{};
    v = static_cast<std::uint16_t>(v * 16 + h);
  }
  return decodeServiceData16(v, data);
}

Advert decodeAdStructures(std::span<const std::uint8_t> data) {
  Advert firstProblem;  // the first beacon-looking record that failed, else a framing problem
  std::size_t pos = 0;
  while (pos < data.size()) {
    const std::size_t len = data[pos];
    if (len == 0) break;  // early termination: the rest is zero padding
    if (pos + 1 + len > data.size()) {
      if (firstProblem.issue == DecodeIssue::None) {
        firstProblem = withIssue(DecodeIssue::TruncatedAdStructure, pos);
      }
      break;
    }
    const std::uint8_t type = data[pos + 1];
    const Bytes value = data.subspan(pos + 2, len - 1);
    Advert a;
    if (type == kAdManufacturerData && value.size() >= 2) {
      const auto company = static_cast<std::uint16_t>(value[0] | (value[1] << 8));  // little endian
      a = shifted(decodeManufacturer(company, value.subspan(2)), pos + 4);
    } else if (type == kAdServiceData16 && value.size() >= 2) {
      const auto uuid16 = static_cast<std::uint16_t>(value[0] | (value[1] << 8));
      a = shifted(decodeServiceData16(uuid16, value.subspan(2)), pos + 4);
    }
    if (a.kind != AdvertKind::None) return a;
    if (a.issue != DecodeIssue::None && firstProblem.issue == DecodeIssue::None) firstProblem = a;
    pos += 1 + len;
  }
  return firstProblem;
}

std::size_t parseHex(std::string_view hex, std::span<std::uint8_t> out, DecodeIssue& issue,
                     std::uint16_t& issueOffset) {
  issue = DecodeIssue::None;
  issueOffset = 0;
  if (hex.size() % 2 != 0) {
    issue = DecodeIssue::OddHexLength;
    return 0;
  }
  if (hex.size() / 2 > out.size()) {
    issue = DecodeIssue::TooLong;
    return 0;
  }
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hexDigit(hex[i]);
    const int lo = hexDigit(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      issue = DecodeIssue::InvalidHexDigit;
      issueOffset = static_cast<std::uint16_t>(std::min<std::size_t>(hi < 0 ? i : i + 1, 0xFFFF));
      return 0;
    }
    out[i / 2] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return hex.size() / 2;
}

Advert decodeHexLine(std::string_view hex) {
  // A trailing CR (a file written on Windows) or surrounding blanks are not part of the advert.
  while (!hex.empty() && (hex.back() == '\r' || hex.back() == ' ' || hex.back() == '\t')) hex.remove_suffix(1);
  while (!hex.empty() && (hex.front() == ' ' || hex.front() == '\t')) hex.remove_prefix(1);
  std::array<std::uint8_t, kMaxAdvertBytes> buf;  // on the stack: no allocation per line
  DecodeIssue issue{};
  std::uint16_t offset = 0;
  const std::size_t n = parseHex(hex, buf, issue, offset);
  if (issue != DecodeIssue::None) return withIssue(issue, offset);
  return decodeAdStructures(std::span<const std::uint8_t>(buf.data(), n));
}

void appendAdvertJson(const Advert& a, std::string& out) {
  JsonObjectWriter w(out);
  w.field("kind", kindName(a.kind));
  switch (a.kind) {
    case AdvertKind::IBeacon: {
      // Canonical 8-4-4-4-12 form, lower case.
      out += ",\"uuid\":\"";
      const std::span<const std::uint8_t> u(a.uuid);
      appendHex(out, u.subspan(0, 4));
      out.push_back('-');
      appendHex(out, u.subspan(4, 2));
      out.push_back('-');
      appendHex(out, u.subspan(6, 2));
      out.push_back('-');
      appendHex(out, u.subspan(8, 2));
      out.push_back('-');
      appendHex(out, u.subspan(10, 6));
      out.push_back('"');
      w.field("major", static_cast<int>(a.major));
      w.field("minor", static_cast<int>(a.minor));
      w.field("tx_power", static_cast<int>(a.txPower));
      break;
    }
    case AdvertKind::AltBeacon:
      out += ",\"beacon_id\":\"";
      appendHex(out, a.beaconId);
      out.push_back('"');
      w.field("reference_rssi", static_cast<int>(a.referenceRssi));
      break;
    case AdvertKind::EddystoneUid:
      w.field("tx_power", static_cast<int>(a.txPower));
      out += ",\"namespace\":\"";
      appendHex(out, a.namespaceId);
      out += "\",\"instance\":\"";
      appendHex(out, a.instance);
      out.push_back('"');
      break;
    case AdvertKind::EddystoneUrl:
      w.field("tx_power", static_cast<int>(a.txPower));
      w.field("url", a.urlView());
      break;
    case AdvertKind::EddystoneTlm:
      if (a.hasTelemetry) {
        w.field("battery_mv", static_cast<int>(a.batteryMv));
        if (a.hasTemperature) w.field("temperature_c", a.temperatureC());
        w.field("adv_count", static_cast<std::int64_t>(a.advCount));
        w.field("sec_count", static_cast<std::int64_t>(a.secCount));
      }
      break;
    case AdvertKind::EddystoneEid:
      w.field("tx_power", static_cast<int>(a.txPower));
      out += ",\"eid\":\"";
      appendHex(out, a.eid);
      out.push_back('"');
      break;
    case AdvertKind::None:
      if (a.issue != DecodeIssue::None) {
        w.field("error", issueText(a.issue));
        w.field("offset", static_cast<int>(a.issueOffset));
      }
      break;
  }
  w.close();
}

}  // namespace aisle::gateway
