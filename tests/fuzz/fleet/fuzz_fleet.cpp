// Fleet parser fuzz target: any bytes give problems or a fleet, never a crash; and a fleet that
// checks clean must render payloads that parse back to the same bytes (render and parse agree).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "aisle/fwconfig/bundle.h"
#include "aisle/fwconfig/fleet.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto check = aisle::fwconfig::checkFleet(text, "fuzz.toml");
  if (!check.ok()) return 0;
  for (const auto& g : check.fleet.gateways) {
    const aisle::fwconfig::BundleMeta meta{1, g.id, ""};
    const std::string payload = aisle::fwconfig::renderPayload(check.fleet, g, meta);
    auto parsed = aisle::fwconfig::parsePayload(payload);
    if (!parsed || aisle::fwconfig::writeFleet(parsed->fleet, &parsed->meta) != payload)
      std::abort();
  }
  return 0;
}
