#include <gtest/gtest.h>

#include "aisle/gateway/lan.h"

namespace aisle::gateway {
namespace {

TEST(LanSummarizer, SendsOneMedianLinePerBeaconPerIntervalInFirstHeardOrder) {
  LanSummarizer s("s1");
  for (double r : {-60.0, -90.0, -61.0}) s.onSighting("ignored", "eid:00000000000000bb", Dbm{r}, 1000);
  for (double r : {-70.0, -72.0}) s.onSighting("ignored", "eid:00000000000000aa", Dbm{r}, 1200);
  auto body = s.take(true, 1500);
  ASSERT_TRUE(body);
  // The -90 outlier does not move the median; an even count averages the middle two.
  EXPECT_EQ(*body,
            "{\"scanner\":\"s1\",\"beacon\":\"eid:00000000000000bb\",\"rssi\":-61,\"t_ms\":1000}\n"
            "{\"scanner\":\"s1\",\"beacon\":\"eid:00000000000000aa\",\"rssi\":-71,\"t_ms\":1200}\n");
  EXPECT_EQ(s.beaconsPending(), 0u);
}

TEST(LanSummarizer, AnIntervalWithoutSightingsIsAHeartbeatAndADeadRadioSendsNothing) {
  LanSummarizer s("s1");
  auto heartbeat = s.take(true, 1000);
  ASSERT_TRUE(heartbeat);
  EXPECT_TRUE(heartbeat->empty());
  s.onSighting("s1", "eid:00000000000000aa", Dbm{-60}, 1100);
  EXPECT_FALSE(s.take(false, 2000));
  EXPECT_EQ(s.beaconsPending(), 0u);  // what was heard before the radio died is not sent later
}

TEST(LanSightings, ParseWhatTheSummarizerSends) {
  LanSummarizer s("s1");
  s.onSighting("s1", "eid:00000000000000aa", Dbm{-64.5}, 1100);
  auto parsed = parseLanSightings(*s.take(true, 1200), "s1");
  ASSERT_TRUE(parsed) << parsed.message();
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].beacon, "eid:00000000000000aa");
  EXPECT_DOUBLE_EQ((*parsed)[0].rssi.value, -64.5);
  auto empty = parseLanSightings("", "s1");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(LanSightings, ARequestWithALineForAnotherScannerIsRefusedAsAWhole) {
  const std::string body =
      "{\"scanner\":\"s1\",\"beacon\":\"eid:00000000000000aa\",\"rssi\":-60,\"t_ms\":1}\n"
      "{\"scanner\":\"s2\",\"beacon\":\"eid:00000000000000aa\",\"rssi\":-40,\"t_ms\":1}\n";
  auto parsed = parseLanSightings(body, "s1");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.message().find("line 2"), std::string::npos) << parsed.message();
  EXPECT_FALSE(parseLanSightings("{\"scanner\":\"s1\"", "s1"));
}

TEST(LanSightings, SummariesFromTwoScannersArbitrateOnTheHubAndASilentScannerEndsItsClaim) {
  struct Sink final : ZoneEventSink {
    std::vector<std::string> events;
    void onZoneEvent(const ZoneEvent& e) override {
      events.push_back(std::string(eventTypeName(e.type)) + " " + std::string(e.zone));
    }
  } sink;
  ZoneSetup setup;
  setup.gatewayId = "hub";
  setup.scanners = {ScannerSpec{"s1", "dairy", Db{0}}, ScannerSpec{"s2", "bakery", Db{0}}};
  ZoneTracker hub(setup, sink);
  LanSummarizer s1("s1"), s2("s2");
  std::int64_t t = 1'000'000;
  auto second = [&](bool s1Alive) {
    t += 1000;
    s1.onSighting("s1", "eid:00000000000000aa", Dbm{-55}, t);
    s2.onSighting("s2", "eid:00000000000000aa", Dbm{-80}, t);
    for (auto* s : {&s1, &s2}) {
      const bool alive = s == &s2 || s1Alive;
      auto body = s->take(alive, t);
      if (!body) continue;
      const std::string who = s == &s1 ? "s1" : "s2";
      auto parsed = parseLanSightings(*body, who);
      ASSERT_TRUE(parsed);
      hub.onScannerHeartbeat(who, t);
      for (const auto& x : *parsed) hub.onSighting(who, x.beacon, x.rssi, t);
    }
    hub.advance(t);
  };
  for (int i = 0; i < 5; ++i) second(true);
  ASSERT_FALSE(sink.events.empty());
  EXPECT_EQ(sink.events.front(), "enter dairy");
  for (int i = 0; i < 30; ++i) second(false);
  // s1 went silent while it was the clear winner: not a confident move to bakery.
  EXPECT_EQ(hub.zoneOf("eid:00000000000000aa") == "dairy", false);
  EXPECT_NE(std::find(sink.events.begin(), sink.events.end(), "exit dairy"), sink.events.end());
}

}  // namespace
}  // namespace aisle::gateway
