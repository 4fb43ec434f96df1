// The hub's zone state machine, driven by sighting timestamps (no clock, no sleeps).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "aisle/gateway/zone_tracker.h"

namespace aisle::gateway {
namespace {

struct Recorded {
  ZoneEventType type;
  std::string zone;
  std::string beacon;
  std::int64_t tMs;
  double confidence;
  std::uint64_t id;
};

class RecordingSink final : public ZoneEventSink {
 public:
  void onZoneEvent(const ZoneEvent& e) override {
    events.push_back({e.type, std::string(e.zone), std::string(e.beacon), e.tMs, e.confidence, e.id});
  }
  std::vector<Recorded> events;
  std::string summary() const {
    std::string s;
    for (const auto& e : events) {
      s += std::string(eventTypeName(e.type)) + " " + e.zone + "@" + std::to_string(e.tMs) + "; ";
    }
    return s;
  }
};

constexpr const char* kBeacon = "B1";

ZoneSetup defaults() {
  ZoneSetup s;
  s.params.dwellAfterMs = 600'000;  // out of the way unless a test wants it
  return s;
}

// Both scanners hear the beacon every 100 ms from `from` to `to` with the given RSSIs; a
// heartbeat beacon keeps each listed scanner alive.
void hear(ZoneTracker& z, std::int64_t from, std::int64_t to, double rssiA, double rssiB,
          bool aAlive = true, bool bAlive = true) {
  for (std::int64_t t = from; t < to; t += 100) {
    if (aAlive) z.onSighting("A", kBeacon, Dbm{rssiA}, t);
    if (bAlive) z.onSighting("B", kBeacon, Dbm{rssiB}, t);
  }
}

TEST(ZoneTracker, EntersTheZoneOfTheStrongestScannerHeardSoFar) {
  RecordingSink sink;
  ZoneTracker z(defaults(), sink);
  z.onSighting("A", kBeacon, Dbm{-80}, 0);
  z.onSighting("B", kBeacon, Dbm{-90}, 0);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].type, ZoneEventType::Enter);
  EXPECT_EQ(sink.events[0].zone, "A");
  EXPECT_EQ(sink.events[0].tMs, 0);
  EXPECT_GT(sink.events[0].confidence, 0.5);
}

TEST(ZoneTracker, AFirstAdvertHeardByTheWrongScannerIsCorrectedAfterTheSustainTime) {
  RecordingSink sink;
  auto setup = defaults();
  ZoneTracker z(setup, sink);
  hear(z, 0, 10'000, -80, -60);  // A reports first, B is clearly nearer
  EXPECT_EQ(z.zoneOf(kBeacon), "B") << sink.summary();
  ASSERT_EQ(sink.events.size(), 3u) << sink.summary();
  EXPECT_LE(sink.events[2].tMs, setup.params.switchAfterMs + 1000);
}

TEST(ZoneTracker, StaysPutWhenAChallengerIsOnlySlightlyStronger) {
  RecordingSink sink;
  ZoneTracker z(defaults(), sink);
  hear(z, 0, 10'000, -60, -70);
  hear(z, 10'000, 60'000, -64, -61);  // B leads by 3 dB < 6 dB margin
  EXPECT_EQ(z.zoneOf(kBeacon), "A");
  EXPECT_EQ(sink.events.size(), 1u) << sink.summary();
}

TEST(ZoneTracker, SwitchesWhenAChallengerIsClearlyStrongerForTheSustainedTime) {
  RecordingSink sink;
  auto setup = defaults();
  ZoneTracker z(setup, sink);
  hear(z, 0, 10'000, -60, -80);
  hear(z, 10'000, 30'000, -80, -60);
  ASSERT_EQ(z.zoneOf(kBeacon), "B");
  ASSERT_EQ(sink.events.size(), 3u) << sink.summary();
  EXPECT_EQ(sink.events[1].type, ZoneEventType::Exit);
  EXPECT_EQ(sink.events[1].zone, "A");
  EXPECT_EQ(sink.events[2].type, ZoneEventType::Enter);
  EXPECT_EQ(sink.events[2].zone, "B");
  // The filter needs a moment to cross the margin, then the challenger must hold for 4 s.
  EXPECT_GE(sink.events[2].tMs, 10'000 + setup.params.switchAfterMs);
  EXPECT_LE(sink.events[2].tMs, 10'000 + setup.params.switchAfterMs + 3000);
}

TEST(ZoneTracker, DoesNotSwitchOnABriefSpike) {
  RecordingSink sink;
  ZoneTracker z(defaults(), sink);
  hear(z, 0, 10'000, -60, -80);
  hear(z, 10'000, 12'000, -80, -60);  // 2 s < switch_after
  hear(z, 12'000, 30'000, -60, -80);
  EXPECT_EQ(z.zoneOf(kBeacon), "A");
  EXPECT_EQ(sink.events.size(), 1u) << sink.summary();
}

TEST(ZoneTracker, EmitsExitAtTheTimeoutWithoutSightings) {
  RecordingSink sink;
  auto setup = defaults();
  ZoneTracker z(setup, sink);
  hear(z, 0, 5000, -60, -80);
  z.onSighting("A", "other", Dbm{-70}, 100'000);  // time moves on
  ASSERT_EQ(sink.events.size(), 3u) << sink.summary();  // enter B1, exit B1, enter other
  EXPECT_EQ(sink.events[1].type, ZoneEventType::Exit);
  EXPECT_EQ(sink.events[1].beacon, kBeacon);
  // Heard every 100 ms: 20 missed adverts is 2 s, so the 20 s floor applies.
  EXPECT_EQ(sink.events[1].tMs, 4900 + setup.params.exitMinMs);
  EXPECT_EQ(z.zoneOf(kBeacon), "");
}

TEST(ZoneTracker, TimeoutFollowsTheObservedAdvertisingInterval) {
  RecordingSink sink;
  auto setup = defaults();
  ZoneTracker z(setup, sink);
  // A slow tag advertising every 3 s: 20 intervals = 60 s before it is declared gone.
  std::int64_t t = 0;
  for (; t < 60'000; t += 3000) z.onSighting("A", kBeacon, Dbm{-60}, t);
  const std::int64_t last = t - 3000;
  z.finish();
  ASSERT_EQ(sink.events.back().type, ZoneEventType::Exit);
  EXPECT_NEAR(static_cast<double>(sink.events.back().tMs - last), 60'000, 1000);
}

TEST(ZoneTracker, EmitsOneDwellAfterTheConfiguredTime) {
  RecordingSink sink;
  auto setup = defaults();
  setup.params.dwellAfterMs = 30'000;
  ZoneTracker z(setup, sink);
  hear(z, 0, 90'000, -60, -80);
  int dwells = 0;
  for (const auto& e : sink.events) {
    if (e.type == ZoneEventType::Dwell) {
      ++dwells;
      EXPECT_EQ(e.tMs, 30'000);
      EXPECT_EQ(e.zone, "A");
    }
  }
  EXPECT_EQ(dwells, 1) << sink.summary();
}

TEST(ZoneTracker, NoDwellForAVisitShorterThanTheDwellTime) {
  RecordingSink sink;
  auto setup = defaults();
  setup.params.dwellAfterMs = 30'000;
  ZoneTracker z(setup, sink);
  hear(z, 0, 5000, -60, -80);
  z.finish();
  for (const auto& e : sink.events) EXPECT_NE(e.type, ZoneEventType::Dwell) << sink.summary();
}

TEST(ZoneTracker, ReportsUnknownWhenTheNearestScannerGoesSilent) {
  RecordingSink sink;
  ZoneTracker z(defaults(), sink);
  hear(z, 0, 10'000, -60, -75);
  ASSERT_EQ(z.zoneOf(kBeacon), "A");
  // Scanner A dies; B still hears the beacon, weakly. B is not where the beacon is.
  hear(z, 10'000, 40'000, -60, -75, /*aAlive=*/false);
  EXPECT_EQ(z.zoneOf(kBeacon), kUnknownZone) << sink.summary();
  bool wrongRoom = false;
  for (const auto& e : sink.events) wrongRoom |= (e.type == ZoneEventType::Enter && e.zone == "B");
  EXPECT_FALSE(wrongRoom) << sink.summary();
  EXPECT_EQ(sink.events.back().confidence, 0.0);
  // A comes back: the beacon is placed in A again.
  hear(z, 40'000, 50'000, -60, -75);
  EXPECT_EQ(z.zoneOf(kBeacon), "A") << sink.summary();
}

TEST(ZoneTracker, MovesOnFromUnknownWhenTheBeaconIsClearlyNearAnotherScanner) {
  RecordingSink sink;
  ZoneTracker z(defaults(), sink);
  hear(z, 0, 10'000, -60, -75);
  hear(z, 10'000, 40'000, -60, -75, false);
  ASSERT_EQ(z.zoneOf(kBeacon), kUnknownZone);
  hear(z, 40'000, 60'000, -60, -50, false);  // now clearly next to B
  EXPECT_EQ(z.zoneOf(kBeacon), "B") << sink.summary();
}

TEST(ZoneTracker, EventIdsAreDeterministicAndUnique) {
  auto run = [] {
    RecordingSink sink;
    ZoneTracker z(defaults(), sink);
    hear(z, 0, 10'000, -60, -80);
    hear(z, 10'000, 30'000, -80, -60);
    z.finish();
    return sink.events;
  };
  const auto a = run();
  const auto b = run();
  ASSERT_EQ(a.size(), b.size());
  std::set<std::uint64_t> ids;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    ids.insert(a[i].id);
  }
  EXPECT_EQ(ids.size(), a.size());
  EXPECT_NE(zoneEventId("gw1", "b", "z", ZoneEventType::Enter, 1),
            zoneEventId("gw2", "b", "z", ZoneEventType::Enter, 1));
}

TEST(ZoneTracker, ConfiguredScannersMapToZonesAndOthersAreIgnored) {
  RecordingSink sink;
  auto setup = defaults();
  setup.scanners = {{"A", "dairy", Db{0}}, {"A2", "dairy", Db{0}}, {"B", "bakery", Db{0}}};
  ZoneTracker z(setup, sink);
  z.onSighting("X", kBeacon, Dbm{-40}, 0);
  hear(z, 100, 5000, -60, -80);
  EXPECT_EQ(z.zoneOf(kBeacon), "dairy");
  EXPECT_EQ(z.stats().unknownScanner, 1u);
}

TEST(ZoneTracker, ScannerOffsetCalibratesItsReadings) {
  RecordingSink sink;
  auto setup = defaults();
  // B's antenna reads 15 dB low: calibrated, B is the stronger scanner.
  setup.scanners = {{"A", "A", Db{0}}, {"B", "B", Db{15}}};
  ZoneTracker z(setup, sink);
  hear(z, 0, 10'000, -65, -70);
  EXPECT_EQ(z.zoneOf(kBeacon), "B") << sink.summary();
}

TEST(ZoneTracker, ForgetsBeaconsGoneLongAgoSoMemoryStaysBounded) {
  RecordingSink sink;
  auto setup = defaults();
  setup.params.forgetAfterMs = 60'000;
  ZoneTracker z(setup, sink);
  // A MAC-rotation flood: a new random address every 25 ms for 10 simulated minutes.
  for (std::int64_t t = 0; t < 600'000; t += 25) {
    z.onSighting("A", "rand-" + std::to_string(t), Dbm{-70}, t);
  }
  const auto& s = z.stats();
  EXPECT_GT(s.beaconsForgotten, 20'000u);
  // Live state covers the forget horizon plus the exit timeout, not the whole flood.
  EXPECT_LT(s.beaconsTracked - s.beaconsForgotten, 4000u);
}

TEST(ZoneTracker, TimeNeverRunsBackwards) {
  RecordingSink sink;
  ZoneTracker z(defaults(), sink);
  hear(z, 0, 5000, -60, -80);
  z.onSighting("A", kBeacon, Dbm{-60}, 1000);  // late: counted as "now"
  z.finish();
  for (std::size_t i = 1; i < sink.events.size(); ++i) {
    EXPECT_GE(sink.events[i].tMs, sink.events[i - 1].tMs) << sink.summary();
  }
}

TEST(ZoneEventJson, HasTheFieldsOfTheContract) {
  ZoneEvent e;
  e.type = ZoneEventType::Dwell;
  e.zone = "Room201";
  e.beacon = "DAF246CE836311E4:0:3";
  e.tMs = 1425352282972;
  e.confidence = 0.912;
  e.id = 0x0123456789abcdefULL;
  std::string out;
  appendZoneEventJson(e, out);
  EXPECT_EQ(out,
            "{\"event_id\":\"0123456789abcdef\",\"type\":\"dwell\",\"zone\":\"Room201\","
            "\"beacon\":\"DAF246CE836311E4:0:3\",\"t_ms\":1425352282972,\"confidence\":0.912}");
}

}  // namespace
}  // namespace aisle::gateway
