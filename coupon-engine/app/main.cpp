// Thin main: everything lives in the core library so tests can drive it.
#include <iostream>

#include "aisle/common/cli.h"
#include "aisle/engine/cli.h"

int main(int argc, char** argv) { return aisle::engine::runCli(aisle::argsOf(argc, argv), std::cout, std::cerr); }
