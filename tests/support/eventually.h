#pragma once
// Waiting on a condition that another process or thread makes true (a row written, a signal
// seen, a port opened), where there is no event to block on: poll `done` every 10 ms until it
// holds or `timeout` passes. Returns its last answer, so a test asserts on it.
#include <chrono>
#include <thread>

namespace aisle::testing {

template <typename Fn>
bool eventually(Fn done, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace aisle::testing
