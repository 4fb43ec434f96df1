#include <sys/random.h>

#include <cerrno>
#include <stdexcept>
#include <string>

#include "aisle/engine/batch.h"

namespace aisle::engine {
namespace {

// 10 bytes = 80 bits: 16 base32 characters, above the schema's 13-character (64-bit) floor, so a
// guesser faces 2^80 codes per member.
constexpr std::size_t kCodeBytes = 10;

class OsRandomCodes final : public CodeSource {
 public:
  std::string next() override {
    unsigned char buf[kCodeBytes];
    std::size_t got = 0;
    while (got < sizeof buf) {
      const auto n = getrandom(buf + got, sizeof buf - got, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        // No entropy source means no safe codes: stop rather than issue guessable ones.
        throw std::runtime_error("getrandom failed: errno " + std::to_string(errno));
      }
      got += static_cast<std::size_t>(n);
    }
    return base32(buf, sizeof buf);
  }
};

}  // namespace

std::string base32(const unsigned char* bytes, std::size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  out.reserve((n * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    buffer = (buffer << 8) | bytes[i];
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

std::unique_ptr<CodeSource> makeOsRandomCodes() {
  return std::make_unique<OsRandomCodes>();
}

}  // namespace aisle::engine
