#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "aisle/common/clock.h"
#include "aisle/gateway/daemon.h"
#include "aisle/gateway/uplink.h"

namespace aisle::gateway {
namespace {

namespace fs = std::filesystem;

class Uplink : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("aisle-uplink-unit-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    SpoolOptions o;
    o.dir = dir_.string();
    o.segmentBytes = 1 << 20;
    o.maxBytes = 4 << 20;
    o.maxRecordBytes = 256 << 10;
    o.fsync.mode = FsyncMode::Never;
    auto s = Spool::open(o);
    ASSERT_TRUE(s) << s.message();
    spool_ = std::move(*s);
    options_.gatewayId = "gw-1";
    options_.storeId = 12;
  }
  void TearDown() override {
    spool_.reset();
    fs::remove_all(dir_);
  }
  void emit(EventBatcher& b, int n, std::int64_t t0 = 1000) {
    for (int i = 0; i < n; ++i) {
      ZoneEvent e;
      e.zone = "dairy";
      e.beacon = "eid:0011223344556677";
      e.tMs = t0 + i;
      e.id = static_cast<std::uint64_t>(t0 + i);
      b.onZoneEvent(e);
    }
  }
  fs::path dir_;
  std::unique_ptr<Spool> spool_;
  UplinkOptions options_;
  ManualClock clock_;
  MetricsRegistry registry_;
  UplinkMetrics metrics_{registry_};
  Logger log_{"uplink-test", std::make_shared<MemorySink>()};
};

TEST(UplinkBody, IsTheEngineBatchFormat) {
  UplinkOptions o;
  o.gatewayId = "gw-\"1\"";
  o.storeId = 12;
  EXPECT_EQ(uplinkBody(o, "{\"a\":1}\n{\"b\":2}\n"),
            "{\"gateway_id\":\"gw-\\\"1\\\"\",\"store_id\":12,\"events\":[{\"a\":1},{\"b\":2}]}");
  EXPECT_EQ(uplinkBody(o, ""), "{\"gateway_id\":\"gw-\\\"1\\\"\",\"store_id\":12,\"events\":[]}");
}

TEST_F(Uplink, AFullBatchGoesToTheSpoolAtOnceAndAPartialOneAfterTheDelay) {
  EventBatcher b(*spool_, options_, clock_, log_, metrics_);
  emit(b, 100);
  EXPECT_EQ(spool_->stats().depthRecords, 1u);
  emit(b, 5, 5000);
  b.flushIfDue();
  EXPECT_EQ(spool_->stats().depthRecords, 1u);
  clock_.advance(std::chrono::milliseconds(999));
  b.flushIfDue();
  EXPECT_EQ(spool_->stats().depthRecords, 1u);
  clock_.advance(std::chrono::milliseconds(1));
  b.flushIfDue();
  EXPECT_EQ(spool_->stats().depthRecords, 2u);
  EXPECT_EQ(metrics_.eventsSpooled.value(), 105u);
}

TEST_F(Uplink, NothingIsAcknowledgedWhileTheEngineFailsAndEverythingAfterItAnswers) {
  EventBatcher b(*spool_, options_, clock_, log_, metrics_);
  emit(b, 3);
  b.flush();
  int status = 503;
  std::vector<std::string> bodies;
  UplinkSender s(*spool_, [&](const std::string& body) -> Result<int> {
    bodies.push_back(body);
    return status;
  }, options_, log_, metrics_);
  EXPECT_EQ(s.deliverOnce(), UplinkSender::Attempt::Failed);
  EXPECT_FALSE(s.healthy());
  EXPECT_EQ(spool_->stats().depthRecords, 1u);
  status = 200;
  EXPECT_EQ(s.deliverOnce(), UplinkSender::Attempt::Delivered);
  EXPECT_TRUE(s.healthy());
  EXPECT_EQ(spool_->stats().depthRecords, 0u);
  EXPECT_EQ(s.deliverOnce(), UplinkSender::Attempt::Idle);
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(bodies[0], bodies[1]);  // the same batch again: the engine dedupes by event_id
  EXPECT_EQ(metrics_.eventsDelivered.value(), 3u);
}

TEST_F(Uplink, NetworkErrorsAreRetriedToo) {
  EventBatcher b(*spool_, options_, clock_, log_, metrics_);
  emit(b, 1);
  b.flush();
  UplinkSender s(*spool_, [](const std::string&) -> Result<int> { return fail("connection refused"); },
                 options_, log_, metrics_);
  EXPECT_EQ(s.deliverOnce(), UplinkSender::Attempt::Failed);
  EXPECT_EQ(spool_->stats().depthRecords, 1u);
}

TEST_F(Uplink, ABatchTheEngineRefusesAsMalformedIsDroppedAndCounted) {
  EventBatcher b(*spool_, options_, clock_, log_, metrics_);
  emit(b, 2);
  b.flush();
  UplinkSender s(*spool_, [](const std::string&) -> Result<int> { return 400; }, options_, log_, metrics_);
  EXPECT_EQ(s.deliverOnce(), UplinkSender::Attempt::Rejected);
  EXPECT_EQ(spool_->stats().depthRecords, 0u);
  EXPECT_EQ(metrics_.eventsRejected.value(), 2u);
}

TEST_F(Uplink, SmallSpooledBatchesAreMergedUpToTheRequestLimitInOrder) {
  options_.batchMaxEvents = 30;
  EventBatcher b(*spool_, options_, clock_, log_, metrics_);
  emit(b, 30, 1000);
  emit(b, 30, 2000);
  emit(b, 30, 3000);
  emit(b, 30, 4000);  // four records of 30 events
  std::vector<std::string> bodies;
  UplinkSender s(*spool_, [&](const std::string& body) -> Result<int> {
    bodies.push_back(body);
    return 200;
  }, options_, log_, metrics_);
  EXPECT_EQ(s.deliverOnce(), UplinkSender::Attempt::Delivered);
  EXPECT_EQ(s.deliverOnce(), UplinkSender::Attempt::Delivered);
  ASSERT_EQ(bodies.size(), 2u);
  auto count = [](const std::string& body) {
    std::size_t n = 0;
    for (std::size_t p = body.find("event_id"); p != std::string::npos; p = body.find("event_id", p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count(bodies[0]), 90u);
  EXPECT_EQ(count(bodies[1]), 30u);
  EXPECT_LT(bodies[0].find("\"t_ms\":1000"), bodies[0].find("\"t_ms\":3029"));
}

TEST_F(Uplink, AHeartbeatNotYetSentIsReplacedByTheNewerOne) {
  std::vector<std::string> posted;
  LatestWinsSender hb([&](const std::string& body) -> Result<int> {
    posted.push_back(body);
    return 200;
  }, log_, metrics_.heartbeatsOk, metrics_.heartbeatsFailed);
  EXPECT_FALSE(hb.sendPending());
  hb.submit("{\"n\":1}");
  hb.submit("{\"n\":2}");
  EXPECT_TRUE(hb.sendPending());
  EXPECT_FALSE(hb.sendPending());
  ASSERT_EQ(posted.size(), 1u);
  EXPECT_EQ(posted[0], "{\"n\":2}");
  EXPECT_EQ(metrics_.heartbeatsOk.value(), 1u);
}

TEST_F(Uplink, AFailedHeartbeatIsCountedAndNotRetried) {
  int calls = 0;
  LatestWinsSender hb([&](const std::string&) -> Result<int> {
    ++calls;
    if (calls == 1) return fail("connection refused");
    return 503;
  }, log_, metrics_.heartbeatsOk, metrics_.heartbeatsFailed);
  hb.submit("{}");
  EXPECT_TRUE(hb.sendPending());
  EXPECT_FALSE(hb.sendPending());  // latest wins: nothing is kept for a retry
  hb.submit("{}");
  EXPECT_TRUE(hb.sendPending());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(metrics_.heartbeatsFailed.value(), 2u);
  EXPECT_EQ(metrics_.heartbeatsOk.value(), 0u);
}

TEST_F(Uplink, ABlockedHeartbeatDoesNotDelayEventDelivery) {
  // The heartbeat thread is stuck in its POST; the event sender, on its own thread, delivers.
  std::mutex mu;
  std::condition_variable cv;
  bool release = false, inHeartbeat = false;
  LatestWinsSender hb([&](const std::string&) -> Result<int> {
    std::unique_lock lock(mu);
    inHeartbeat = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    return 200;
  }, log_, metrics_.heartbeatsOk, metrics_.heartbeatsFailed);
  hb.start();
  hb.submit("{}");
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return inHeartbeat; }));
  }
  EventBatcher batcher(*spool_, options_, clock_, log_, metrics_);
  emit(batcher, 3);
  batcher.flush();
  UplinkSender sender(*spool_, [](const std::string&) -> Result<int> { return 200; }, options_, log_, metrics_);
  sender.start();
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (metrics_.eventsDelivered.value() < 3 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling another thread's counter
  }
  EXPECT_EQ(metrics_.eventsDelivered.value(), 3u);
  sender.stop();
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  hb.stop();
  EXPECT_EQ(metrics_.heartbeatsOk.value(), 1u);
}

TEST(SystemdNotify, SendsOneDatagramToNotifySocket) {
  const std::string path = (fs::temp_directory_path() / ("aisle-notify-" + std::to_string(getpid()))).string();
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ::unlink(path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EXPECT_TRUE(notifySystemd("READY=1"));
  char buf[64] = {};
  const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0), "READY=1");
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(notifySystemd("READY=1"));
  ::close(fd);
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace aisle::gateway
