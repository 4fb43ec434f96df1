// The BlueZ source against python-dbusmock's bluez5 template on a private bus: adverts drive zone
// events, bluetoothd restarts and adapter removal are survived, silent devices are pruned from
// BlueZ's cache, and devices of no interest leave no trace.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <future>
#include <optional>
#include <mutex>
#include <thread>

#include "aisle/common/clock.h"
#include "aisle/gateway/bluez_source.h"
#include "aisle/gateway/pipeline.h"
#include "gateway_fake_bluez.h"

namespace aisle::gateway {
namespace {

using namespace std::chrono_literals;
using testing::FakeBluez;
using testing::PrivateBus;

struct Recorded {
  std::string type, zone, beacon;
};

// Zone events and adapter states, recorded on the loop thread and awaited on the test thread.
class Recorder final : public ZoneEventSink, public DeviceListener {
 public:
  explicit Recorder(DeviceListener*& next) : next_(next) {}
  void onZoneEvent(const ZoneEvent& e) override {
    std::lock_guard lock(mu_);
    events_.push_back({std::string(eventTypeName(e.type)), std::string(e.zone), std::string(e.beacon)});
    cv_.notify_all();
  }
  void onDeviceReport(const DeviceReport& r) override { next_->onDeviceReport(r); }
  void onDeviceGone(std::uint64_t d) override {
    next_->onDeviceGone(d);
    std::lock_guard lock(mu_);
    ++gone_;
    cv_.notify_all();
  }
  void onAdapterState(AdapterState s) override {
    next_->onAdapterState(s);
    std::lock_guard lock(mu_);
    states_.push_back(s);
    cv_.notify_all();
  }
  bool waitForEnter(const std::string& beacon, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      for (const auto& e : events_)
        if (e.type == "enter" && e.beacon == beacon) return true;
      return false;
    });
  }
  // Waits until the adapter has reached `s` after `from` state changes had been recorded.
  bool waitForState(AdapterState s, std::size_t from, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      for (std::size_t i = from; i < states_.size(); ++i)
        if (states_[i] == s) return true;
      return false;
    });
  }
  std::size_t stateCount() {
    std::lock_guard lock(mu_);
    return states_.size();
  }
  std::vector<Recorded> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  DeviceListener*& next_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Recorded> events_;
  std::vector<AdapterState> states_;
  int gone_ = 0;
};

class GatewayOnFakeBluez : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!testing::dbusmockAvailable(why)) GTEST_SKIP() << why;
    bus_ = std::make_unique<PrivateBus>();
    ASSERT_TRUE(bus_->ok()) << "could not start a private dbus-daemon";
    bluez_ = std::make_unique<FakeBluez>(bus_->address());
    ASSERT_TRUE(bluez_->start()) << "dbusmock bluez5 did not come up";
  }
  void TearDown() override {
    stopGateway();
    bluez_.reset();
    bus_.reset();
  }

  void startGateway(std::chrono::milliseconds pruneAfter = 60s) {
    ZoneSetup setup;
    setup.gatewayId = "gw-test";
    tracker_ = std::make_unique<ZoneTracker>(setup, recorder_);
    PrivacyPolicy policy;  // EID only: no iBeacon configured
    pipeline_ = std::make_unique<AdvertPipeline>("aisle-1", policy, *tracker_, clock_);
    next_ = pipeline_.get();
    BluezOptions options;
    options.pruneAfter = pruneAfter;
    auto src = openBluezSource(io_, options, recorder_, clock_, Logger("bluez-test", sink_), [](const std::string&) {});
    ASSERT_TRUE(src) << src.message();
    source_ = std::move(*src);
    boost::asio::post(io_, [this] { source_->start(); });
    thread_ = std::thread([this] { io_.run(); });
  }
  void stopGateway() {
    if (!thread_.joinable()) return;
    boost::asio::post(io_, [this] { source_->stop(); });
    work_.reset();
    io_.stop();
    thread_.join();
    source_.reset();
  }
  BluezStats statsOnLoop() {
    std::promise<BluezStats> p;
    boost::asio::post(io_, [&] { p.set_value(source_->stats()); });
    return p.get_future().get();
  }

  std::unique_ptr<PrivateBus> bus_;
  std::unique_ptr<FakeBluez> bluez_;
  SystemClock clock_;
  std::shared_ptr<MemorySink> sink_ = std::make_shared<MemorySink>();
  DeviceListener* next_ = nullptr;
  Recorder recorder_{next_};
  std::unique_ptr<ZoneTracker> tracker_;
  std::unique_ptr<AdvertPipeline> pipeline_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(io_)};
  std::unique_ptr<BluezSource> source_;
  std::thread thread_;
};

constexpr const char* kEid1 = "eid:1122334455667701";
constexpr const char* kEid2 = "eid:1122334455667702";

TEST_F(GatewayOnFakeBluez, AnEddystoneEidAdvertDrivesAnEnterEventInTheScannersZone) {
  bluez_->addAdapter("hci0");
  startGateway();
  ASSERT_TRUE(recorder_.waitForState(AdapterState::Discovering, 0));
  // The mock's StartDiscovery fails unless a discovery filter was set first: Discovering proves
  // the SetDiscoveryFilter -> StartDiscovery order.
  EXPECT_TRUE(bluez_->adapterDiscovering("hci0"));
  const std::string dev = bluez_->addDevice("hci0", "C0:FF:EE:00:00:01");
  bluez_->emitAdvert(dev, testing::eidAdvert(0x01, -55));
  ASSERT_TRUE(recorder_.waitForEnter(kEid1));
  const auto events = recorder_.events();
  EXPECT_EQ(events.front().zone, "aisle-1");
  // Further adverts carry only RSSI: the device's identity is remembered.
  bluez_->emitRssi(dev, -57);
  EXPECT_TRUE(testing::eventually([&] { return pipeline_ && statsOnLoop().reports >= 3; }));
  // dbusmock announces ManufacturerData as aa{qv}: skipped and counted, not a crash.
  EXPECT_GE(statsOnLoop().mistypedValues, 1u);
}

TEST_F(GatewayOnFakeBluez, PhonesAndUnconfiguredBeaconsProduceNoEventsAndNoAddressInLogs) {
  bluez_->addAdapter("hci0");
  startGateway();
  ASSERT_TRUE(recorder_.waitForState(AdapterState::Discovering, 0));
  const std::string phone = bluez_->addDevice("hci0", "5A:11:22:33:44:55");
  const std::string ibeacon = bluez_->addDevice("hci0", "5A:11:22:33:44:66");
  std::map<std::uint16_t, sdbus::Variant> apple{
      {0x004C, sdbus::Variant(std::vector<std::uint8_t>{0x02, 0x15, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                                        13, 14, 15, 16, 0, 1, 0, 2, 0xC5})}};
  std::map<std::uint16_t, sdbus::Variant> phoneData{{0x0006, sdbus::Variant(std::vector<std::uint8_t>{1, 9, 32})}};
  bluez_->emitAdvert(phone, {{"RSSI", sdbus::Variant(std::int16_t{-40})}, {"ManufacturerData", sdbus::Variant(phoneData)}});
  bluez_->emitAdvert(ibeacon, {{"RSSI", sdbus::Variant(std::int16_t{-41})}, {"ManufacturerData", sdbus::Variant(apple)}});
  // A beacon of interest afterwards: once its enter is seen, the two before it were processed.
  const std::string tag = bluez_->addDevice("hci0", "C0:FF:EE:00:00:02");
  bluez_->emitAdvert(tag, testing::eidAdvert(0x02, -60));
  ASSERT_TRUE(recorder_.waitForEnter(kEid2));
  for (const auto& e : recorder_.events()) EXPECT_EQ(e.beacon, kEid2);
  for (const std::string& line : sink_->lines()) {
    EXPECT_EQ(line.find("5A:11"), std::string::npos) << line;
    EXPECT_EQ(line.find("5A_11"), std::string::npos) << line;
    EXPECT_EQ(line.find("C0_FF"), std::string::npos) << line;
  }
}

TEST_F(GatewayOnFakeBluez, ReArmsDiscoveryAfterBluetoothdRestarts) {
  bluez_->addAdapter("hci0");
  startGateway();
  ASSERT_TRUE(recorder_.waitForState(AdapterState::Discovering, 0));
  const std::size_t before = recorder_.stateCount();
  bluez_->stop();
  ASSERT_TRUE(recorder_.waitForState(AdapterState::BluezGone, before));
  const std::size_t gone = recorder_.stateCount();
  ASSERT_TRUE(bluez_->start());
  // The new bluetoothd has no adapter yet; the gateway arms as soon as one appears.
  bluez_->addAdapter("hci0");
  ASSERT_TRUE(recorder_.waitForState(AdapterState::Discovering, gone));
  EXPECT_TRUE(bluez_->adapterDiscovering("hci0"));
  const std::string dev = bluez_->addDevice("hci0", "C0:FF:EE:00:00:01");
  bluez_->emitAdvert(dev, testing::eidAdvert(0x01, -50));
  EXPECT_TRUE(recorder_.waitForEnter(kEid1));
}

TEST_F(GatewayOnFakeBluez, ReArmsWhenTheAdapterIsRemovedAndReturns) {
  bluez_->addAdapter("hci0");
  startGateway();
  ASSERT_TRUE(recorder_.waitForState(AdapterState::Discovering, 0));
  const std::size_t before = recorder_.stateCount();
  bluez_->removeAdapter("hci0");
  ASSERT_TRUE(recorder_.waitForState(AdapterState::Absent, before));
  const std::size_t absent = recorder_.stateCount();
  bluez_->addAdapter("hci0");
  ASSERT_TRUE(recorder_.waitForState(AdapterState::Discovering, absent));
  const std::string dev = bluez_->addDevice("hci0", "C0:FF:EE:00:00:02");
  bluez_->emitAdvert(dev, testing::eidAdvert(0x02, -50));
  EXPECT_TRUE(recorder_.waitForEnter(kEid2));
}

TEST_F(GatewayOnFakeBluez, SilentDevicesAreRemovedFromBluezWhileHeardOnesStay) {
  bluez_->addAdapter("hci0");
  startGateway(/*pruneAfter=*/1500ms);
  ASSERT_TRUE(recorder_.waitForState(AdapterState::Discovering, 0));
  const std::string silent = bluez_->addDevice("hci0", "C0:FF:EE:00:00:01");
  const std::string heard = bluez_->addDevice("hci0", "C0:FF:EE:00:00:02");
  bluez_->emitAdvert(silent, testing::eidAdvert(0x01, -60));
  bluez_->emitAdvert(heard, testing::eidAdvert(0x02, -60));
  ASSERT_TRUE(recorder_.waitForEnter(kEid1));
  // Keep one device talking while the other goes quiet, until the quiet one is removed.
  const bool removed = testing::eventually([&] {
    bluez_->emitRssi(heard, -61);
    return !bluez_->objectExists(silent);
  });
  EXPECT_TRUE(removed) << "RemoveDevice was not called for the silent device";
  EXPECT_TRUE(bluez_->objectExists(heard));
  EXPECT_GE(statsOnLoop().devicesPruned, 1u);
}

}  // namespace
}  // namespace aisle::gateway
