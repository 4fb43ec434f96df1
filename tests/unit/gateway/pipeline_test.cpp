#include <gtest/gtest.h>

#include "aisle/common/clock.h"
#include "aisle/gateway/pipeline.h"

namespace aisle::gateway {
namespace {

struct Events final : ZoneEventSink {
  std::vector<std::string> lines;
  void onZoneEvent(const ZoneEvent& e) override {
    lines.push_back(std::string(eventTypeName(e.type)) + " " + std::string(e.zone) + " " + std::string(e.beacon));
  }
};

const std::vector<std::uint8_t> kIBeacon{0x02, 0x15, 0xF7, 0x82, 0x6D, 0xA6, 0x4F, 0xA2, 0x4E, 0x98, 0x80, 0x24,
                                         0xBC, 0x5B, 0x71, 0xE0, 0x89, 0x3E, 0x00, 0x0C, 0x01, 0x02, 0xC5};
const std::vector<std::uint8_t> kEid{0x30, 0xE3, 0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x11, 0x22, 0x33};
const std::vector<std::uint8_t> kTlm{0x20, 0x00, 0x0B, 0xB8, 0x15, 0x00, 0, 0, 0, 1, 0, 0, 0, 2};
constexpr const char* kFeaa = "0000feaa-0000-1000-8000-00805f9b34fb";
constexpr const char* kIBeaconId = "ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:12:258";

class Pipeline : public ::testing::Test {
 protected:
  Pipeline() : tracker_(setup(), events_), pipeline_("pi", policy(), tracker_, clock_) {}
  static ZoneSetup setup() {
    ZoneSetup s;
    s.gatewayId = "gw";
    return s;
  }
  virtual PrivacyPolicy policy() { return {}; }
  void mfg(std::uint64_t dev, int rssi, const std::vector<std::uint8_t>& data, std::uint16_t company = 0x004C) {
    ManufacturerEntry e{company, data};
    DeviceReport r;
    r.device = dev;
    r.hasRssi = true;
    r.rssi = Dbm{static_cast<double>(rssi)};
    r.hasManufacturerData = true;
    r.manufacturerData = std::span<const ManufacturerEntry>(&e, 1);
    pipeline_.onDeviceReport(r);
  }
  void svc(std::uint64_t dev, const std::vector<std::uint8_t>& data, std::optional<int> rssi = -60) {
    ServiceEntry e{kFeaa, data};
    DeviceReport r;
    r.device = dev;
    r.hasRssi = rssi.has_value();
    r.rssi = Dbm{static_cast<double>(rssi.value_or(0))};
    r.hasServiceData = true;
    r.serviceData = std::span<const ServiceEntry>(&e, 1);
    pipeline_.onDeviceReport(r);
  }
  void rssi(std::uint64_t dev, int v) {
    DeviceReport r;
    r.device = dev;
    r.hasRssi = true;
    r.rssi = Dbm{static_cast<double>(v)};
    pipeline_.onDeviceReport(r);
  }
  ManualClock clock_;
  Events events_;
  ZoneTracker tracker_;
  AdvertPipeline pipeline_;
};

TEST(BeaconIds, AreWrittenExactlyAsTheEngineParsesThem) {
  const Advert ib = decodeManufacturerData(0x004C, kIBeacon);
  std::string id;
  ASSERT_TRUE(beaconIdOf(ib, id));
  EXPECT_EQ(id, kIBeaconId);
  ASSERT_TRUE(beaconIdOf(decodeServiceData(kFeaa, kEid), id));
  EXPECT_EQ(id, "eid:deadbeef00112233");
  EXPECT_FALSE(beaconIdOf(decodeServiceData(kFeaa, kTlm), id));
  EXPECT_TRUE(id.empty());
}

TEST(BeaconIds, ConfiguredIdsAreLowerCasedOnlyForEngineKinds) {
  EXPECT_EQ(canonicalBeaconId("ibeacon:F7826DA6-4FA2-4E98-8024-BC5B71E0893E:1:2"),
            "ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:1:2");
  EXPECT_EQ(canonicalBeaconId("DAF246CE836311E4:0:3"), "DAF246CE836311E4:0:3");
}

TEST_F(Pipeline, EidBeaconsEnterTheLocalScannersZone) {
  svc(1, kEid);
  ASSERT_EQ(events_.lines.size(), 1u);
  EXPECT_EQ(events_.lines[0], "enter pi eid:deadbeef00112233");
}

TEST_F(Pipeline, UnconfiguredIBeaconsAndPhonesAreNeverForwarded) {
  mfg(1, -50, kIBeacon);
  mfg(2, -40, {0x01, 0x09, 0x20}, 0x0006);
  rssi(2, -41);
  EXPECT_TRUE(events_.lines.empty());
  EXPECT_EQ(pipeline_.stats().notOfInterest, 3u);
  EXPECT_EQ(pipeline_.stats().sightings, 0u);
}

class PipelineWithIBeacon : public Pipeline {
 protected:
  PipelineWithIBeacon() { pipeline_.reset(policy(), tracker_); }
  PrivacyPolicy policy() override {
    PrivacyPolicy p;
    p.beaconIds.insert(kIBeaconId);
    return p;
  }
};

TEST_F(PipelineWithIBeacon, ConfiguredIBeaconsAreForwardedAndLaterRssiOnlyReportsCount) {
  mfg(1, -50, kIBeacon);
  rssi(1, -52);  // BlueZ sends the payload once, RSSI per advert
  EXPECT_EQ(pipeline_.stats().sightings, 2u);
  ASSERT_EQ(events_.lines.size(), 1u);
  EXPECT_EQ(events_.lines[0], std::string("enter pi ") + kIBeaconId);
}

TEST_F(PipelineWithIBeacon, AFixedBeaconsLatestTelemetryIsKeptUnderItsId) {
  mfg(1, -50, kIBeacon);
  svc(1, kTlm);  // 3000 mV, 21.0 C
  clock_.advance(std::chrono::seconds(5));
  const std::vector<std::uint8_t> later{0x20, 0x00, 0x0B, 0x54, 0xFF, 0x80, 0, 0, 0, 2, 0, 0, 0, 3};
  svc(1, later);  // 2900 mV, -0.5 C
  ASSERT_EQ(pipeline_.telemetry().size(), 1u);
  const BeaconTelemetry& t = pipeline_.telemetry().at(kIBeaconId);
  EXPECT_EQ(t.batteryMv, 2900);
  EXPECT_TRUE(t.hasTemperature);
  EXPECT_DOUBLE_EQ(t.temperatureC, -0.5);
  EXPECT_EQ(t.tMs, clock_.nowUnixMs());
}

TEST_F(PipelineWithIBeacon, TelemetryHeardBeforeTheIdentityFrameIsKeptOnceTheIdentityIsKnown) {
  svc(1, kTlm, std::nullopt);
  EXPECT_TRUE(pipeline_.telemetry().empty());
  mfg(1, -50, kIBeacon);
  ASSERT_EQ(pipeline_.telemetry().count(kIBeaconId), 1u);
  EXPECT_EQ(pipeline_.telemetry().at(kIBeaconId).batteryMv, 3000);
}

TEST_F(Pipeline, TelemetryOfBeaconsThatAreNotConfiguredFixedBeaconsIsNotKept) {
  svc(1, kEid);   // a shopper's EID fob: forwarded, but not a fixed beacon
  svc(1, kTlm);
  mfg(2, -50, kIBeacon);  // someone else's iBeacon
  svc(2, kTlm);
  EXPECT_TRUE(pipeline_.telemetry().empty());
}

TEST_F(Pipeline, TelemetryFramesDoNotChangeABeaconsIdentity) {
  svc(1, kEid);
  svc(1, kTlm);
  EXPECT_EQ(pipeline_.stats().sightings, 2u);
  EXPECT_EQ(pipeline_.stats().notOfInterest, 0u);
}

TEST_F(Pipeline, APayloadWithoutAnyRssiYetIsNotASighting) {
  svc(1, kEid, std::nullopt);
  EXPECT_EQ(pipeline_.stats().noRssiYet, 1u);
  EXPECT_TRUE(events_.lines.empty());
}

TEST_F(Pipeline, ForgottenDevicesLeaveTheCache) {
  svc(1, kEid);
  svc(2, kEid);
  EXPECT_EQ(pipeline_.stats().devicesKnown, 2u);
  pipeline_.onDeviceGone(1);
  pipeline_.onDeviceGone(2);
  EXPECT_EQ(pipeline_.stats().devicesKnown, 0u);
}

TEST_F(Pipeline, TicksEmitExitsWhenBeaconsFallSilent) {
  pipeline_.onAdapterState(AdapterState::Discovering);
  svc(1, kEid);
  for (int i = 0; i < 130; ++i) {
    clock_.advance(std::chrono::seconds(1));
    pipeline_.tick();
  }
  // Heard once: it exits at the minimum timeout (20 s), before a dwell (30 s) could fall due.
  ASSERT_EQ(events_.lines.size(), 2u);
  EXPECT_EQ(events_.lines[1], "exit pi eid:deadbeef00112233");
}

}  // namespace
}  // namespace aisle::gateway
