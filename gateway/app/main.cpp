// Thin main: everything lives in the core library so tests can drive it.
#include <iostream>

#include "aisle/common/cli.h"
#include "aisle/gateway/cli.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);  // decode/replay stream many lines: no per-call stdio sync
  return aisle::gateway::runCli(aisle::argsOf(argc, argv), std::cin, std::cout, std::cerr);
}
