#include "aisle/engine/eid.h"

#include <gtest/gtest.h>
#include <Poco/JSON/Parser.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "aisle/common/crypto.h"
#include "aisle/common/hmac.h"

namespace aisle::engine {
namespace {

std::filesystem::path datasets() {
  if (const char* env = std::getenv("AISLE_DATASETS"); env && *env) return env;
  return std::filesystem::path(AISLE_SOURCE_DIR) / ".." / "shared" / "datasets";
}

Poco::JSON::Object::Ptr vectors() {
  std::ifstream in(datasets() / "eddystone-eid" / "eid_vectors.json");
  if (!in) return nullptr;
  std::stringstream ss;
  ss << in.rdbuf();
  return Poco::JSON::Parser().parse(ss.str()).extract<Poco::JSON::Object::Ptr>();
}

std::string bytes(const std::string& hex) { return *fromHex(hex); }

}  // namespace

TEST(Eid, EveryPublishedEidVectorComputes) {
  auto v = vectors();
  if (!v) GTEST_SKIP() << "eddystone-eid vectors not found under " << datasets();
  auto list = v->getArray("eid_vectors");
  ASSERT_GT(list->size(), 0u);
  EidComputer eid;
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto o = list->getObject(static_cast<unsigned>(i));
    auto ik = parseIdentityKey(o->getValue<std::string>("identity_key"));
    ASSERT_TRUE(ik.ok());
    const auto got = eid.compute(*ik, o->getValue<int>("rotation_exponent"),
                                 static_cast<std::uint32_t>(o->getValue<std::int64_t>("beacon_time_s")));
    EXPECT_EQ(eidHex(eidToU64(got)), o->getValue<std::string>("eid")) << "vector " << i;
  }
}

TEST(Eid, EveryPublishedIdentityKeyExchangeDerivesTheKey) {
  auto v = vectors();
  if (!v) GTEST_SKIP() << "eddystone-eid vectors not found under " << datasets();
  auto list = v->getArray("identity_key_vectors");
  ASSERT_GT(list->size(), 0u);
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto o = list->getObject(static_cast<unsigned>(i));
    EXPECT_EQ(toHex(*x25519PublicKey(bytes(o->getValue<std::string>("resolver_private")))),
              o->getValue<std::string>("resolver_public"));
    auto ik = deriveIdentityKey(bytes(o->getValue<std::string>("resolver_private")),
                                bytes(o->getValue<std::string>("beacon_public")));
    ASSERT_TRUE(ik.ok()) << ik.message();
    EXPECT_EQ(toHex(std::string(ik->begin(), ik->end())), o->getValue<std::string>("identity_key"));
  }
}

TEST(Eid, StaysConstantWithinARotationPeriodAndChangesAcrossIt) {
  EidComputer eid;
  const IdentityKey ik = *parseIdentityKey("00112233445566778899aabbccddeeff");
  EXPECT_EQ(eid.compute(ik, 10, 1024), eid.compute(ik, 10, 2047));
  EXPECT_NE(eid.compute(ik, 10, 2047), eid.compute(ik, 10, 2048));
}

TEST(EidResolver, ResolvesEachDevicesCurrentAndNeighbouringPeriods) {
  std::vector<EidDevice> devices;
  for (int i = 0; i < 200; ++i) {
    EidDevice d;
    d.memberId = 1000 + i;
    d.deviceId = i;
    for (int b = 0; b < 16; ++b) d.identityKey[static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(i * 31 + b);
    d.k = 8 + i % 4;
    d.clockOffsetS = -1'600'000'000 + i * 1000;
    devices.push_back(d);
  }
  const std::int64_t now = 1'700'000'000;
  EidResolver resolver(1);
  resolver.rebuild(devices, now, 2);
  EXPECT_EQ(resolver.size(), devices.size() * 3);
  EidComputer eid;
  for (const auto& d : devices) {
    const auto t = static_cast<std::uint32_t>(now + d.clockOffsetS);
    auto m = resolver.resolve(eidToU64(eid.compute(d.identityKey, d.k, t)));
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->memberId, d.memberId);
    EXPECT_EQ(m->periodDelta, 0);
    // A beacon whose clock runs one period fast still resolves.
    auto fast = resolver.resolve(eidToU64(eid.compute(d.identityKey, d.k, t + (1u << d.k))));
    ASSERT_TRUE(fast.has_value());
    EXPECT_EQ(fast->deviceId, d.deviceId);
    EXPECT_EQ(fast->periodDelta, 1);
  }
  EXPECT_FALSE(resolver.resolve(0x0123456789abcdefULL).has_value());
}

TEST(AesGcm, SealedIdentityKeysOpenOnlyWithTheRightKeyAndRow) {
  const std::string master(32, 'm');
  auto sealed = sealAesGcm(master, "0123456789abcdef", "device:42");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(*openAesGcm(master, *sealed, "device:42"), "0123456789abcdef");
  EXPECT_FALSE(openAesGcm(master, *sealed, "device:43").ok());
  EXPECT_FALSE(openAesGcm(std::string(32, 'x'), *sealed, "device:42").ok());
  std::string tampered = *sealed;
  tampered[14] ^= 1;
  EXPECT_FALSE(openAesGcm(master, tampered, "device:42").ok());
}

}  // namespace aisle::engine
