#include "bluez/sdbus_asio.h"

#include <poll.h>

#include <chrono>
#include <limits>
#include <sdbus-c++/sdbus-c++.h>

namespace aisle::gateway::bluez {

namespace asio = boost::asio;

SdbusAsio::SdbusAsio(asio::io_context& io, sdbus::IConnection& connection,
                     std::function<void(const std::string&)> onFatal)
    : connection_(connection), onFatal_(std::move(onFatal)), fd_(io), timer_(io) {}

SdbusAsio::~SdbusAsio() { detach(); }

void SdbusAsio::detach() {
  if (detached_) return;
  detached_ = true;
  ++generation_;
  boost::system::error_code ec;
  timer_.cancel();
  if (fd_.is_open()) {
    fd_.cancel(ec);
    fd_.release();  // sd-bus owns the socket; closing it here would break the connection
  }
}

void SdbusAsio::drain() {
  if (detached_) return;
  // A callback that makes a synchronous call drains again: the outermost drain loops on and arms.
  if (draining_) return;
  draining_ = true;
  try {
    while (connection_.processPendingRequest()) {
    }
  } catch (const std::exception& e) {
    draining_ = false;
    detach();
    onFatal_(std::string("D-Bus connection failed: ") + e.what());
    return;
  }
  draining_ = false;
  arm();
}

void SdbusAsio::arm() {
  if (detached_) return;
  const sdbus::IConnection::PollData pd = connection_.getEventLoopPollData();
  boost::system::error_code ec;
  if (!fd_.is_open()) fd_.assign(pd.fd);  // constant for the connection's life
  const std::uint64_t gen = ++generation_;
  fd_.cancel(ec);
  timer_.cancel();
  auto onReady = [this, gen](const boost::system::error_code& e) {
    if (e || gen != generation_) return;
    drain();
  };
  if (pd.events & POLLIN) fd_.async_wait(asio::posix::stream_descriptor::wait_read, onReady);
  if (pd.events & POLLOUT) fd_.async_wait(asio::posix::stream_descriptor::wait_write, onReady);
  if (pd.timeout_usec != std::numeric_limits<std::uint64_t>::max()) {
    // sd-bus gives an absolute CLOCK_MONOTONIC time, which is std::chrono::steady_clock's epoch.
    timer_.expires_at(std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::microseconds(pd.timeout_usec))));
    timer_.async_wait(onReady);
  }
}

}  // namespace aisle::gateway::bluez
