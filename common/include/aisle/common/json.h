#pragma once
// The one JSON string escaper. Its output is also a valid TOML basic string, which the fleet
// bundles rely on. No dependencies, so the gateway's hot path can use it.
#include <string>
#include <string_view>

namespace aisle {

// Appends `s` as a quoted string literal: quotes, backslashes and control characters (and DEL)
// escaped; everything else, UTF-8 included, copied as is.
void appendJsonString(std::string& out, std::string_view s);
// The escaped text without the surrounding quotes.
std::string jsonEscape(std::string_view s);

}  // namespace aisle
