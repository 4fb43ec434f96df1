// Thin main: everything lives in the core library so tests can drive it.
#include <iostream>

#include "aisle/common/cli.h"
#include "aisle/pos/cli.h"

int main(int argc, char** argv) { return aisle::pos::runCli(aisle::argsOf(argc, argv), std::cout, std::cerr); }
