#pragma once
// The one JSON string escaper, and the one decoder of \u escapes for our JSON readers (the gateway's
// flat reader, the pos-adapter's transaction form). The escaper's output is also a valid TOML basic
// string, which the fleet bundles rely on. No dependencies, so the gateway's hot path can use it.
#include <cstddef>
#include <string>
#include <string_view>

namespace aisle {

// Appends `s` as a quoted string literal: quotes, backslashes and control characters (and DEL)
// escaped; everything else, UTF-8 included, copied as is.
void appendJsonString(std::string& out, std::string_view s);
// The escaped text without the surrounding quotes.
std::string jsonEscape(std::string_view s);

// Reads the escape at text[pos] (just after its backslash): one of \" \\ \/ \b \f \n \r \t, or \uXXXX
// followed, when that is a high surrogate, by the \uXXXX of its low half. Appends the character
// (UTF-8) and moves pos past what it read. An unknown escape or a lone or reversed surrogate is an
// error: null, or what was wrong.
const char* appendJsonEscape(std::string_view text, std::size_t& pos, std::string& out);

}  // namespace aisle
