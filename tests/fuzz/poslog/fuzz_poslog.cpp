// Fuzz target for every pos-adapter parser of untrusted bytes: POSLog XML, the JSON form, and card
// input (tracks, barcodes, keyed). Parsed transactions are also hashed and re-serialized, and the
// JSON rendering must parse back to the same content.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "aisle/pos/poslog.h"
#include "aisle/pos/swipe.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aisle::pos;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ParseOptions o;
  o.localTime = [](const NaturalKey&, std::int64_t localMs) -> aisle::Result<std::int64_t> { return localMs - 3'600'000; };
  o.limits.maxBytes = 1 << 20;
  for (auto parse : {parsePosLog, parseTransactionJson}) {
    auto doc = parse(bytes, o);
    if (!doc) continue;
    for (const auto& item : doc->items) {
      if (!item.transaction) continue;
      const auto hash = contentHashHex(*item.transaction);
      auto again = parseTransactionJson(toJson(*item.transaction, false), o);
      if (!again || again->items.size() != 1 || !again->items[0].transaction ||
          contentHashHex(*again->items[0].transaction) != hash) {
        std::abort();  // the documented JSON form must represent every parsed transaction exactly
      }
    }
  }
  auto card = parseCardInput(bytes);
  if (!card && isPaymentCardRefusal(card.error())) {
    // A refusal must never carry digits of the card; the only ones it may hold are the track's own
    // number in "track 1" / "track 2".
    std::string message = card.message();
    for (const std::string_view track : {"track 1", "track 2"})
      for (auto at = message.find(track); at != std::string::npos; at = message.find(track)) message.erase(at, track.size());
    if (message.find_first_of("0123456789") != std::string::npos) std::abort();
  }
  return 0;
}
