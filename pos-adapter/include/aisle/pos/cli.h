#pragma once
#include <iosfwd>
#include <string>
#include <vector>

namespace aisle::pos {

// The whole command line of aisleone-pos-adapter; main() only forwards argv and the standard streams.
int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace aisle::pos
