// Thin main: everything lives in the libraries so tests can drive it.
#include <iostream>

#include "aisle/common/cli.h"
#include "aisle/gateway/daemon.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);  // decode/replay stream many lines: no per-call stdio sync
  return aisle::gateway::runGatewayCommand(aisle::argsOf(argc, argv), std::cin, std::cout, std::cerr);
}
