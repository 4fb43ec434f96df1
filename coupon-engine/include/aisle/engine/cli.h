#pragma once
#include <iosfwd>
#include <string>
#include <vector>

namespace aisle::engine {

// The whole command line of aisleone-coupon-engine; main() only forwards argv and the streams.
int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace aisle::engine
