#pragma once
// Beacon advert decoding: pure functions from bytes to a fixed-size Advert (no allocation: this runs
// for every advert the radio hears). Three entry points match the three forms adverts arrive in:
// raw advertising data (AD structures, as HCI and the `decode` command see it) and BlueZ's
// Device1.ManufacturerData (company id -> bytes) / ServiceData (UUID -> bytes) maps.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace aisle::gateway {

enum class AdvertKind : std::uint8_t {
  None,
  IBeacon,
  AltBeacon,
  EddystoneUid,
  EddystoneUrl,
  EddystoneTlm,
  EddystoneEid,
};
// The names of DESIGN.md ("ibeacon", "eddystone-uid", ..., "none").
std::string_view kindName(AdvertKind kind);

// Why an advert decoded to None although it was malformed (a well-formed non-beacon advert has no
// issue). Codes, not strings, so the hot path never formats text.
enum class DecodeIssue : std::uint8_t {
  None,
  OddHexLength,
  InvalidHexDigit,
  TooLong,
  TruncatedAdStructure,
  IBeaconWrongLength,
  AltBeaconWrongLength,
  EddystoneTooShort,
  EddystoneWrongLength,
  EddystoneUnknownFrame,
  EddystoneUrlBadScheme,
  EddystoneUrlReservedByte,
  EddystoneTlmUnknownVersion,
};
std::string_view issueText(DecodeIssue issue);

// BLE 5 extended advertising carries at most 1650 bytes of advertising data; anything longer is
// not an advert, and bounding it keeps every buffer fixed-size.
inline constexpr std::size_t kMaxAdvertBytes = 1650;
// "https://www." + 17 encoded bytes each expanding to at most ".info/" (6 chars).
inline constexpr std::size_t kMaxUrlChars = 12 + 17 * 7;

struct Advert {
  AdvertKind kind = AdvertKind::None;
  DecodeIssue issue = DecodeIssue::None;
  std::uint16_t issueOffset = 0;  // byte offset (or hex digit offset for hex issues)

  bool hasTxPower = false;
  std::int8_t txPower = 0;  // dBm at 1 m (iBeacon) or at 0 m (Eddystone), as the frame says

  // iBeacon
  std::array<std::uint8_t, 16> uuid{};
  std::uint16_t major = 0;
  std::uint16_t minor = 0;

  // AltBeacon
  std::uint16_t companyId = 0;
  std::array<std::uint8_t, 20> beaconId{};
  std::int8_t referenceRssi = 0;
  std::uint8_t mfgReserved = 0;

  // Eddystone-UID
  std::array<std::uint8_t, 10> namespaceId{};
  std::array<std::uint8_t, 6> instance{};

  // Eddystone-URL (expanded)
  std::array<char, kMaxUrlChars> url{};
  std::uint8_t urlLength = 0;
  std::string_view urlView() const { return {url.data(), urlLength}; }

  // Eddystone-TLM (unencrypted, version 0). Encrypted TLM (version 1) is reported as kind
  // EddystoneTlm with hasTelemetry false: it is a beacon frame, but only the key holder can read it.
  bool hasTelemetry = false;
  std::uint16_t batteryMv = 0;
  bool hasTemperature = false;       // 0x8000 means "not supported" in the spec
  std::int16_t temperatureRaw = 0;   // signed 8.8 fixed point, degrees Celsius
  std::uint32_t advCount = 0;
  std::uint32_t secCount = 0;        // 0.1 s units since power-up, as transmitted
  double temperatureC() const { return temperatureRaw / 256.0; }

  // Eddystone-EID
  std::array<std::uint8_t, 8> eid{};
};

// Raw advertising data: a sequence of [length][type][data...] records. Parsing stops at a zero
// length (the rest is padding); a record running past the end makes the rest unparseable, but a
// beacon record already found still counts (real scanners append truncated scan-response junk).
Advert decodeAdStructures(std::span<const std::uint8_t> data);

// BlueZ ManufacturerData entry: `data` is the value after the 2-byte company id.
Advert decodeManufacturerData(std::uint16_t companyId, std::span<const std::uint8_t> data);

// BlueZ ServiceData entry: `uuid` as BlueZ writes it ("0000feaa-0000-1000-8000-00805f9b34fb"),
// or a bare 16-bit form ("feaa"); `data` is the value after the UUID.
Advert decodeServiceData(std::string_view uuid, std::span<const std::uint8_t> data);
Advert decodeServiceData16(std::uint16_t uuid16, std::span<const std::uint8_t> data);

// Hex text -> bytes into `out` (at most out.size()). Whitespace is not allowed inside; an odd
// number of digits, a non-hex character or too many bytes set `issue` and return 0.
std::size_t parseHex(std::string_view hex, std::span<std::uint8_t> out, DecodeIssue& issue,
                     std::uint16_t& issueOffset);

// One advert line of the `decode` command: hex text -> Advert (hex issues reported like others).
Advert decodeHexLine(std::string_view hex);

// Appends the `decode` command's JSON object for `a` (DESIGN.md field names) to `out`.
void appendAdvertJson(const Advert& a, std::string& out);

}  // namespace aisle::gateway
