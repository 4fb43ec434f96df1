#pragma once
#include <iosfwd>
#include <string>
#include <vector>

namespace aisle::gateway {

// The whole command line of aisleone-gateway; main() only forwards argv and the standard streams.
int runCli(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
           std::ostream& err);

}  // namespace aisle::gateway
