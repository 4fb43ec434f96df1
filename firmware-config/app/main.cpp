// Thin main: everything lives in the core library so tests can drive it.
#include <iostream>

#include "aisle/common/cli.h"
#include "aisle/fwconfig/cli.h"

int main(int argc, char** argv) {
  return aisle::fwconfig::runCli(aisle::argsOf(argc, argv), std::cout, std::cerr);
}
