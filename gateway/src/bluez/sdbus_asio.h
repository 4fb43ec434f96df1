#pragma once
// Runs an sd-bus connection (sdbus-c++ 1.2) on a Boost.Asio io_context, with no thread of its own:
// the bus socket is waited on with stream_descriptor::async_wait and sd-bus's own timeout with a
// steady_timer (both CLOCK_MONOTONIC). sdbus-c++ 1.x has no wake-up fd, so every sdbus call must
// happen on the loop thread, and after any synchronous call drain() must run: sd-bus may have read
// signals off the socket while it waited for the reply, and the socket will not wake us for them.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <string>

namespace sdbus {
class IConnection;
}

namespace aisle::gateway::bluez {

class SdbusAsio {
 public:
  SdbusAsio(boost::asio::io_context& io, sdbus::IConnection& connection,
            std::function<void(const std::string&)> onFatal);
  ~SdbusAsio();
  SdbusAsio(const SdbusAsio&) = delete;
  SdbusAsio& operator=(const SdbusAsio&) = delete;

  // Processes everything sd-bus has queued (dispatching callbacks), then re-arms the waits.
  void drain();
  // Stops waiting; the fd is released, never closed (it belongs to sd-bus).
  void detach();

 private:
  void arm();

  sdbus::IConnection& connection_;
  std::function<void(const std::string&)> onFatal_;
  boost::asio::posix::stream_descriptor fd_;
  boost::asio::steady_timer timer_;
  std::uint64_t generation_ = 0;  // waits armed before the latest arm() are stale
  bool draining_ = false;
  bool detached_ = false;
};

}  // namespace aisle::gateway::bluez
