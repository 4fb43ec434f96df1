// Thin main: everything lives in the libraries so tests can drive it.
#include <malloc.h>

#include <iostream>

#include "aisle/common/cli.h"
#include "aisle/gateway/daemon.h"

int main(int argc, char** argv) {
  // Resident-memory budget (issue 3: <= 16 MB on the store Pi). glibc gives every thread that
  // allocates its own arena, and each arena keeps its own touched pages and free lists; the daemon
  // has one hot thread (the BlueZ/pipeline loop) and a few mostly idle ones (uplink, HTTP), so one
  // shared arena costs no measurable contention and saves what the extra arenas would keep resident.
  mallopt(M_ARENA_MAX, 1);
  std::ios::sync_with_stdio(false);  // decode/replay stream many lines: no per-call stdio sync
  return aisle::gateway::runGatewayCommand(aisle::argsOf(argc, argv), std::cin, std::cout, std::cerr);
}
