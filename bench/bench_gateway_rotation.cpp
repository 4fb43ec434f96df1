// Benchmark (c) of the gateway issue: a MAC-rotation flood. 40 new random addresses per simulated
// second for 10 simulated minutes (24,000 addresses): the production BlueZ source on a real private
// dbus-daemon, fed by the fast fake BlueZ (InterfacesAdded + RSSI PropertiesChanged), into the real
// pipeline and zone tracker, all on one injected clock. Each address is heard for 10 s and then
// falls silent for good, as a rotating phone or fob does. 90 % are phones (not of interest), 10 %
// EID fobs with a fresh EID each (the worst case for the tracker). The per-device state of every
// layer (the fake bluetoothd's device cache, which only our RemoveDevice prunes; the source's path
// map; the pipeline's identity cache; the tracker's live beacons) and the process RSS are recorded
// after 5 and after 10 simulated minutes: equal within noise means pruning bounds them.
//
//   bench_gateway_rotation [--minutes M] [--per-second N]     (default 10 and 40: ~1 minute)
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "aisle/common/clock.h"
#include "aisle/gateway/bluez_source.h"
#include "aisle/gateway/pipeline.h"
#include "bench_gateway_fake_bluez.h"
#include "bench_result.h"

namespace {

using namespace std::chrono_literals;

long statusKb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  }
  return -1;
}

// The fake BlueZ on its own thread (the source makes synchronous calls to it from the loop thread).
class FakeThread {
 public:
  FakeThread() : thread_([this] { run(); }) {}
  ~FakeThread() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    thread_.join();
  }
  // Runs `fn` on the fake's thread and waits for it.
  void call(std::function<void(aisle::bench::FastFakeBluez&)> fn) {
    std::unique_lock lock(mu_);
    const std::uint64_t ticket = ++posted_;
    jobs_.push_back(std::move(fn));
    done_.wait(lock, [&] { return finished_ >= ticket; });
  }
  bool ready() {
    std::lock_guard lock(mu_);
    return ready_;
  }

 private:
  void run() {
    aisle::bench::FastFakeBluez bluez;
    {
      std::lock_guard lock(mu_);
      ready_ = true;
    }
    for (;;) {
      std::function<void(aisle::bench::FastFakeBluez&)> job;
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        if (!jobs_.empty()) {
          job = std::move(jobs_.front());
          jobs_.pop_front();
        }
      }
      if (job) {
        job(bluez);
        std::lock_guard lock(mu_);
        ++finished_;
        done_.notify_all();
      }
      bluez.step(job ? 0us : 1ms);
    }
  }
  std::mutex mu_;
  std::condition_variable done_;
  std::deque<std::function<void(aisle::bench::FastFakeBluez&)>> jobs_;
  std::uint64_t posted_ = 0, finished_ = 0;
  bool stopping_ = false, ready_ = false;
  std::thread thread_;
};

struct CountingSink final : aisle::gateway::ZoneEventSink {
  std::uint64_t events = 0;
  void onZoneEvent(const aisle::gateway::ZoneEvent&) override { ++events; }
};

}  // namespace

static int runBench(int argc, char** argv) {
  using namespace aisle;
  using namespace aisle::gateway;
  int minutes = 10, perSecond = 40;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--minutes") minutes = std::atoi(argv[i + 1]);
    if (a == "--per-second") perSecond = std::atoi(argv[i + 1]);
  }
  constexpr int kHeardFor = 10;  // seconds each address advertises before it rotates away
  bench::PrivateDbusDaemon bus;
  if (!bus.ok()) {
    std::cerr << "cannot start dbus-daemon\n";
    return 1;
  }
  setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.address().c_str(), 1);
  FakeThread fake;
  while (!fake.ready()) std::this_thread::sleep_for(1ms);

  ManualClock clock;
  CountingSink sink;
  ZoneSetup setup;
  setup.gatewayId = "gw-rotation";
  // The tracker forgets beacons gone for forget_after (default 10 min). 2 min here, so that its
  // plateau too is reached inside the 10 simulated minutes (with 10 min it is reached at 20 min,
  // at the same rate x forget_after bound).
  setup.params.forgetAfterMs = 120000;
  ZoneTracker tracker(setup, sink);
  PrivacyPolicy policy;
  AdvertPipeline pipeline("gw-rotation", policy, tracker, clock);
  boost::asio::io_context io;
  BluezOptions bo;
  bo.pruneAfter = 60s;  // the daemon's default bluez.prune_after
  bo.pruneEvery = 1ms;  // simulated time runs ~10x faster than the real timer; prune every loop turn
  auto source = openBluezSource(io, bo, pipeline, clock, Logger("bench", std::make_shared<MemorySink>()),
                                [](const std::string& why) {
                                  std::cerr << "bus broke: " << why << "\n";
                                  std::exit(1);
                                });
  if (!source) {
    std::cerr << source.message() << "\n";
    return 1;
  }
  (*source)->start();
  const auto armBy = std::chrono::steady_clock::now() + 10s;
  while ((*source)->state() != AdapterState::Discovering && std::chrono::steady_clock::now() < armBy) io.run_for(5ms);
  if ((*source)->state() != AdapterState::Discovering) {
    std::cerr << "source did not arm\n";
    return 1;
  }

  std::mt19937_64 rng(42);
  std::uint64_t nextAddress = 1, expectedReports = 0;
  std::deque<std::uint64_t> recent;  // addresses still advertising
  std::map<std::string, double> figures;
  const auto wallStart = std::chrono::steady_clock::now();
  const int total = minutes * 60;
  for (int s = 1; s <= total; ++s) {
    clock.advance(1s);
    const std::uint64_t firstNew = nextAddress;
    nextAddress += static_cast<std::uint64_t>(perSecond);
    std::vector<std::pair<std::uint64_t, bool>> fresh;  // address, is an EID fob
    // Random low bits, the index in the high bits: unique, like a fresh resolvable private address.
    for (std::uint64_t a = firstNew; a < nextAddress; ++a) fresh.emplace_back((rng() & 0xFFFFFF) | (a << 24), rng() % 10 == 0);
    std::uint64_t signals = 0;
    fake.call([&](bench::FastFakeBluez& b) {
      // The addresses of the last kHeardFor seconds advertise again (RSSI only, as BlueZ sends it).
      for (const std::uint64_t addr : recent) {
        b.advert(bench::FastFakeBluez::devicePath(addr),
                 {{"RSSI", sdbus::Variant(static_cast<std::int16_t>(-60 - static_cast<int>(addr % 30)))}});
        ++signals;
      }
      for (const auto& [addr, fob] : fresh) {
        bench::Props props{{"RSSI", sdbus::Variant(static_cast<std::int16_t>(-60 - static_cast<int>(addr % 30)))}};
        if (fob) {
          std::vector<std::uint8_t> eid{0x30, 0xE3};
          for (int i = 0; i < 8; ++i) eid.push_back(static_cast<std::uint8_t>(addr >> (8 * i)));
          props["ServiceData"] = sdbus::Variant(std::map<std::string, sdbus::Variant>{
              {"0000feaa-0000-1000-8000-00805f9b34fb", sdbus::Variant(eid)}});
        } else {
          props["ManufacturerData"] = sdbus::Variant(std::map<std::uint16_t, sdbus::Variant>{
              {0x004C, sdbus::Variant(std::vector<std::uint8_t>{0x10, 0x05, 0x01, 0x18, 0x2A, 0x3B, 0x4C})}});
        }
        b.addDevice(bench::FastFakeBluez::devicePath(addr), props);
        ++signals;
      }
    });
    expectedReports += signals;
    for (const auto& f : fresh) recent.push_back(f.first);
    while (recent.size() > static_cast<std::size_t>(perSecond * kHeardFor)) recent.pop_front();
    pipeline.tick();
    // Let the source read everything sent this second, then prune (its timer runs every 1 ms).
    const auto until = std::chrono::steady_clock::now() + 5s;
    while ((*source)->stats().reports < expectedReports && std::chrono::steady_clock::now() < until) io.run_for(1ms);
    io.run_for(2ms);
    if (s == total / 2 || s == total) {
      const std::string at = s == total ? "end" : "half";
      const BluezStats bs = (*source)->stats();
      std::size_t fakeDevices = 0;
      fake.call([&](bench::FastFakeBluez& b) { fakeDevices = b.devices(); });
      figures["bluez_cache_devices_at_" + at] = static_cast<double>(fakeDevices);
      figures["source_devices_at_" + at] = static_cast<double>(bs.devicesKnown);
      figures["pipeline_devices_at_" + at] = static_cast<double>(pipeline.stats().devicesKnown);
      figures["tracker_live_beacons_at_" + at] =
          static_cast<double>(tracker.stats().beaconsTracked - tracker.stats().beaconsForgotten);
      figures["rss_kb_at_" + at] = static_cast<double>(statusKb("VmRSS"));
      std::cout << "t=" << s << " s: bluez cache " << fakeDevices << ", source " << bs.devicesKnown << ", pipeline "
                << pipeline.stats().devicesKnown << ", tracker live "
                << tracker.stats().beaconsTracked - tracker.stats().beaconsForgotten << ", pruned " << bs.devicesPruned
                << ", RSS " << statusKb("VmRSS") << " kB\n";
    }
  }
  figures["addresses"] = static_cast<double>(nextAddress - 1);
  figures["simulated_minutes"] = minutes;
  figures["devices_pruned"] = static_cast<double>((*source)->stats().devicesPruned);
  figures["reports"] = static_cast<double>((*source)->stats().reports);
  figures["zone_events"] = static_cast<double>(sink.events);
  figures["peak_rss_kb"] = static_cast<double>(statusKb("VmHWM"));
  figures["wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - wallStart).count();
  (*source)->stop();
  bench::writeResult("gateway_rotation", figures);
  return 0;
}

int main(int argc, char** argv) {
  // Unwinding matters: the destructors stop the private dbus-daemon (and the gateway child).
  try {
    return runBench(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench failed: " << e.what() << "\n";
    return 1;
  }
}
