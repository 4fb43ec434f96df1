// libFuzzer target for every advert entry point: raw AD structures, the same bytes read as a hex
// line (the `decode` command's input), and BlueZ's ManufacturerData/ServiceData map forms. Checks
// that the JSON written for whatever decodes is one well-formed flat object.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "aisle/gateway/advert.h"
#include "aisle/gateway/json.h"

namespace {

class Discard final : public aisle::gateway::JsonFlatVisitor {
 public:
  void onString(std::string_view, std::string_view) override {}
  void onLiteral(std::string_view, std::string_view) override {}
};

void checkJson(const aisle::gateway::Advert& a) {
  std::string out;
  aisle::gateway::appendAdvertJson(a, out);
  Discard d;
  aisle::gateway::FlatJsonReader reader;
  std::size_t offset = 0;
  if (reader.parse(out, d, offset) != nullptr) std::abort();  // we wrote invalid JSON
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aisle::gateway;
  const std::span<const std::uint8_t> bytes(data, size);
  checkJson(decodeAdStructures(bytes));
  checkJson(decodeHexLine(std::string_view(reinterpret_cast<const char*>(data), size)));
  if (size >= 2) {
    const auto company = static_cast<std::uint16_t>(data[0] | (data[1] << 8));
    checkJson(decodeManufacturerData(company, bytes.subspan(2)));
    checkJson(decodeServiceData16(0xFEAA, bytes.subspan(2)));
  }
  return 0;
}
