// Decoding: every published vector decodes to the values it lists; malformed inputs give "none"
// with a clear reason and never crash.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "aisle/common/hmac.h"
#include "aisle/gateway/advert.h"
#include "gateway_test_support.h"

namespace aisle::gateway {
namespace {

using testing::flatJson;

std::string decodeToJson(const Advert& a) {
  std::string out;
  appendAdvertJson(a, out);
  return out;
}

std::vector<std::uint8_t> bytesOf(std::string_view hex) {
  auto raw = fromHex(hex);
  EXPECT_TRUE(raw.ok()) << hex;
  const std::string& s = raw.valueOr("");
  return {s.begin(), s.end()};
}

// Splits a vectors.jsonl line into its outer members and its "expect" object (both flat).
void splitVector(const std::string& line, std::string& outer, std::string& expect) {
  const auto k = line.find("\"expect\"");
  ASSERT_NE(k, std::string::npos) << line;
  const auto open = line.find('{', k);
  const auto close = line.find('}', open);
  expect = line.substr(open, close - open + 1);
  std::string before = line.substr(0, k);
  while (!before.empty() && (before.back() == ' ' || before.back() == ',')) before.pop_back();
  outer = before + line.substr(close + 1);
}

TEST(AdvertDecoding, EveryPublishedVectorDecodesToTheListedValues) {
  const auto dir = testing::datasetsDir();
  if (dir.empty()) GTEST_SKIP() << "shared datasets not found (set AISLE_DATASETS)";
  std::ifstream in(dir / "ble-vectors" / "vectors.jsonl");
  if (!in) GTEST_SKIP() << "ble-vectors/vectors.jsonl not found under " << dir;
  std::string line;
  int vectors = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::string outerText, expectText;
    splitVector(line, outerText, expectText);
    auto outer = flatJson(outerText);
    auto expect = flatJson(expectText);
    ASSERT_EQ(outer.count(""), 0u) << outer[""] << " in " << outerText;
    ASSERT_EQ(expect.count(""), 0u) << expect[""] << " in " << expectText;
    const std::string& form = outer["payload_form"];
    Advert a;
    if (form == "ad_structures") {
      a = decodeHexLine(outer["hex"]);
    } else if (form == "manufacturer_data") {
      const auto bytes = bytesOf(outer["hex"]);
      a = decodeManufacturerData(static_cast<std::uint16_t>(std::stoi(outer["company_id"])), bytes);
    } else if (form == "service_data") {
      const auto bytes = bytesOf(outer["hex"]);
      a = decodeServiceData16(static_cast<std::uint16_t>(std::stoi(outer["uuid16"])), bytes);
    } else {
      FAIL() << "unknown payload_form " << form;
    }
    const std::string json = decodeToJson(a);
    auto got = flatJson(json);
    for (const auto& [key, want] : expect) {
      ASSERT_TRUE(got.count(key)) << "missing " << key << " for " << outer["source"] << ": " << json;
      const bool numeric = !want.empty() && (want[0] == '-' || (want[0] >= '0' && want[0] <= '9'));
      if (numeric) {
        EXPECT_DOUBLE_EQ(std::stod(got[key]), std::stod(want)) << key << " for " << outer["source"];
      } else {
        EXPECT_EQ(got[key], want) << key << " for " << outer["source"] << ": " << json;
      }
    }
    ++vectors;
  }
  EXPECT_GE(vectors, 20);
}

struct Golden {
  const char* name;
  const char* hex;
  const char* error;  // expected "error" text, "" for a clean "none"
};

TEST(AdvertDecoding, MalformedGoldenInputsGiveNoneWithAClearReason) {
  const Golden goldens[] = {
      {"empty advert", "", ""},
      {"flags only", "020106", ""},
      {"zero length terminates parsing", "0201060000000000", ""},
      {"odd hex", "02010", "odd number of hex digits"},
      {"non-hex", "02zz06", "invalid hex digit"},
      {"length past the end", "0201060303", "AD structure runs past the end of the advert"},
      {"ibeacon one byte short", "0201061aff4c0002154142434445464748494041424344454600010002",
       "AD structure runs past the end of the advert"},
      {"ibeacon sub-length lies", "020106"
                                  "19ff4c00021541424344454647484940414243444546000100f8",
       "iBeacon record has the wrong length"},
      {"altbeacon 0x1a long", "02011a1aff1801beac2f234454cf6d4a0fadf2f4911ba9ffa6000100c509",
       "AltBeacon record has the wrong length"},
      {"eddystone frame type only", "0201060303aafe0316aafe", "Eddystone frame too short"},
      {"eddystone url without scheme", "0201060303aafe0416aafe10",
       "Eddystone frame too short"},
      {"eddystone url bad scheme", "0201060303aafe0616aafe10e70967",
       "Eddystone-URL scheme prefix out of range"},
      {"eddystone url reserved byte", "0201060303aafe0816aafe10e70167ff",
       "Eddystone-URL contains a reserved byte"},
      {"eddystone uid short", "0201060303aafe0816aafe00e70001020304",
       "Eddystone frame has the wrong length"},
      {"eddystone tlm short", "0201060303aafe0816aafe2000ffff0000",
       "Eddystone frame has the wrong length"},
      {"eddystone tlm version 2", "0201060303aafe1116aafe20020b1813000000146700002ac4",
       "unknown Eddystone-TLM version"},
      {"eddystone eid long", "0201060303aafe0e16aafe30e34549445f7465737400",
       "Eddystone frame has the wrong length"},
      {"unknown eddystone frame", "0201060303aafe0516aafe5000",
       "unknown Eddystone frame type"},
      {"other service uuid", "0201060516abcd0102", ""},
      {"other company", "02010605ff0100aabb", ""},
  };
  for (const Golden& g : goldens) {
    const Advert a = decodeHexLine(g.hex);
    auto got = flatJson(decodeToJson(a));
    EXPECT_EQ(got["kind"], "none") << g.name;
    EXPECT_EQ(got["error"], g.error) << g.name;
  }
}

TEST(AdvertDecoding, ZeroLengthRecordEndsTheAdvertAfterABeacon) {
  EXPECT_EQ(decodeHexLine("0201061aff4c0002154142434445464748494041424344454600010002f80000").kind,
            AdvertKind::IBeacon);
}

TEST(AdvertDecoding, HugeInputIsRejectedWithoutDecoding) {
  const std::string hex(2 * (kMaxAdvertBytes + 1), 'a');
  const Advert a = decodeHexLine(hex);
  EXPECT_EQ(a.kind, AdvertKind::None);
  EXPECT_EQ(a.issue, DecodeIssue::TooLong);
}

TEST(AdvertDecoding, TrailingCarriageReturnIsNotPartOfTheAdvert) {
  EXPECT_EQ(decodeHexLine("0201060303aafe0d16aafe30e34549445f74657374\r").kind,
            AdvertKind::EddystoneEid);
}

TEST(AdvertDecoding, BluezManufacturerDataMapDecodesIBeacon) {
  const auto bytes = bytesOf("02154142434445464748494041424344454600010002f8");
  const Advert a = decodeManufacturerData(0x004C, bytes);
  ASSERT_EQ(a.kind, AdvertKind::IBeacon);
  EXPECT_EQ(a.major, 1);
  EXPECT_EQ(a.minor, 2);
  EXPECT_EQ(a.txPower, -8);
  EXPECT_EQ(decodeManufacturerData(0x0059, bytes).kind, AdvertKind::None);  // not Apple
}

TEST(AdvertDecoding, BluezManufacturerDataMapDecodesAltBeaconOfAnyCompany) {
  const auto bytes = bytesOf("beac2f234454cf6d4a0fadf2f4911ba9ffa600010002c509");
  const Advert a = decodeManufacturerData(0x0118, bytes);
  ASSERT_EQ(a.kind, AdvertKind::AltBeacon);
  EXPECT_EQ(a.companyId, 0x0118);
  EXPECT_EQ(a.referenceRssi, -59);
}

TEST(AdvertDecoding, BluezServiceDataMapDecodesEddystoneByFullUuid) {
  const auto tlm = bytesOf("20000b1813000000146700002ac4");
  const Advert a = decodeServiceData("0000feaa-0000-1000-8000-00805f9b34fb", tlm);
  ASSERT_EQ(a.kind, AdvertKind::EddystoneTlm);
  EXPECT_EQ(a.batteryMv, 2840);
  EXPECT_DOUBLE_EQ(a.temperatureC(), 19.0);
  EXPECT_EQ(decodeServiceData("0000FEAA-0000-1000-8000-00805F9B34FB", tlm).kind,
            AdvertKind::EddystoneTlm);
  EXPECT_EQ(decodeServiceData("feaa", tlm).kind, AdvertKind::EddystoneTlm);
  EXPECT_EQ(decodeServiceData("0000feab-0000-1000-8000-00805f9b34fb", tlm).kind, AdvertKind::None);
  EXPECT_EQ(decodeServiceData("not a uuid", tlm).kind, AdvertKind::None);
}

TEST(AdvertDecoding, EncryptedTlmIsATlmFrameWithoutTelemetry) {
  const auto etlm = bytesOf("2001000102030405060708090a0b0c0d0e0f");
  const Advert a = decodeServiceData16(0xFEAA, etlm);
  EXPECT_EQ(a.kind, AdvertKind::EddystoneTlm);
  EXPECT_FALSE(a.hasTelemetry);
  EXPECT_EQ(decodeToJson(a), "{\"kind\":\"eddystone-tlm\"}");
}

TEST(AdvertDecoding, TlmTemperatureNotSupportedIsLeftOut) {
  const auto tlm = bytesOf("20000b1880000000146700002ac4");
  const std::string json = decodeToJson(decodeServiceData16(0xFEAA, tlm));
  EXPECT_EQ(json.find("temperature_c"), std::string::npos) << json;
}

TEST(AdvertDecoding, RandomBytesNeverCrashAndAlwaysGiveOneJsonObject) {
  std::mt19937 rng(12345);  // fixed seed: the test is reproducible
  std::vector<std::uint8_t> buf;
  std::string out;
  for (int i = 0; i < 20000; ++i) {
    buf.resize(rng() % 64);
    for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
    // Bias towards plausible structure so the beacon decoders are reached, not only framing.
    if (buf.size() > 4 && i % 2 == 0) {
      buf[0] = static_cast<std::uint8_t>(buf.size() - 1);
      buf[1] = (i % 4 == 0) ? 0x16 : 0xFF;
      if (i % 4 == 0) buf[2] = 0xAA, buf[3] = 0xFE;
    }
    out.clear();
    appendAdvertJson(decodeAdStructures(buf), out);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.front(), '{');
    EXPECT_EQ(out.back(), '}');
    EXPECT_EQ(flatJson(out).count(""), 0u) << out;
  }
}

}  // namespace
}  // namespace aisle::gateway
