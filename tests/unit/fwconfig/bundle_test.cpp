#include "aisle/fwconfig/bundle.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "test_util.h"

namespace aisle::fwconfig {
namespace {

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto check = checkFleet(testing::exampleChain(), "chain.toml");
    ASSERT_TRUE(check.ok());
    fleet_ = check.fleet;
    auto k = PrivateKey::generate();
    ASSERT_TRUE(k.ok());
    key_ = std::make_unique<PrivateKey>(*k);
  }
  const Gateway& gateway(const std::string& id) const {
    for (const auto& g : fleet_.gateways)
      if (g.id == id) return g;
    throw std::logic_error("no gateway " + id);
  }
  std::string bundle(const std::string& gw, std::int64_t version) const {
    return signBundle(renderPayload(fleet_, gateway(gw), {version, gw, "abc"}), *key_);
  }
  PublicKey pub() const { return key_->publicKey(); }

  Fleet fleet_;
  std::unique_ptr<PrivateKey> key_;
};

TEST_F(BundleTest, SignedBundleLoadsWithItsPublicKey) {
  auto b = loadBundle(bundle("gw-102-bakery", 5), pub(), 0);
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ(b->version(), 5);
  EXPECT_EQ(b->config.meta.gatewayId, "gw-102-bakery");
  EXPECT_EQ(b->config.meta.fleetSha256, "abc");
  EXPECT_EQ(b->config.self().zone, "bakery");
  EXPECT_EQ(b->config.store().id, StoreId(102));
  EXPECT_EQ(b->keyFingerprint, pub().fingerprint());
}

TEST_F(BundleTest, SliceHoldsOnlyTheGatewaysStoreAndEveryFobPlan) {
  const Fleet s = sliceFor(fleet_, gateway("gw-102-bakery"));
  ASSERT_EQ(s.stores.size(), 1u);
  EXPECT_EQ(s.zones.size(), 3u);
  EXPECT_EQ(s.gateways.size(),
            3u);  // the hub needs its scanners' key ids, scanners the hub's address
  EXPECT_EQ(s.beacons.size(), 2u);
  ASSERT_EQ(s.plans.size(), 1u);
  EXPECT_EQ(s.plans[0].id, "loyalty-fobs");
  // The store's threshold overrides become the slice's thresholds.
  EXPECT_EQ(s.thresholds.dwell, std::chrono::seconds(30));
  EXPECT_EQ(s.thresholds.hysteresisDb, 8);
}

TEST_F(BundleTest, PayloadRoundTripsByteForByte) {
  for (const auto& g : fleet_.gateways) {
    const BundleMeta meta{3, g.id, "abc"};
    const std::string payload = renderPayload(fleet_, g, meta);
    auto parsed = parsePayload(payload);
    ASSERT_TRUE(parsed.ok()) << g.id << ": " << parsed.message();
    EXPECT_EQ(writeFleet(parsed->fleet, &parsed->meta), payload) << g.id;
  }
}

TEST_F(BundleTest, RenderingIsDeterministic) {
  EXPECT_EQ(bundle("gw-103", 2), bundle("gw-103", 2));
}

TEST_F(BundleTest, AFlippedBitAnywhereIsRefused) {
  const std::string good = bundle("gw-103", 4);
  ASSERT_TRUE(loadBundle(good, pub(), 0).ok());
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(loadBundle(bad, pub(), 0).ok()) << "flipped byte " << i << " was accepted";
  }
}

TEST_F(BundleTest, AFlippedPayloadByteFailsTheSignature) {
  std::string bad = bundle("gw-103", 4);
  const std::size_t at = bad.find("engine_url");
  bad[at + 20] = static_cast<char>(bad[at + 20] ^ 0x20);
  auto b = loadBundle(bad, pub(), 0);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.message(), "bundle signature is not valid: refusing it");
}

TEST_F(BundleTest, AnOlderSignedBundleIsRefused) {
  auto b = loadBundle(bundle("gw-101-hub", 6), pub(), 7);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.message(), "bundle version 6 is older than the running version 7 (rollback refused)");
}

TEST_F(BundleTest, TheSameOrANewerVersionIsAccepted) {
  EXPECT_TRUE(loadBundle(bundle("gw-101-hub", 7), pub(), 7).ok());
  EXPECT_TRUE(loadBundle(bundle("gw-101-hub", 8), pub(), 7).ok());
}

TEST_F(BundleTest, ABundleSignedByAnotherKeyIsRefused) {
  auto other = PrivateKey::generate();
  ASSERT_TRUE(other.ok());
  auto b = loadBundle(bundle("gw-103", 1), other->publicKey(), 0);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("but the trusted key is"), std::string::npos) << b.message();
}

TEST_F(BundleTest, ASignatureFromAnotherKeyUnderTheRightFingerprintIsRefused) {
  auto other = PrivateKey::generate();
  ASSERT_TRUE(other.ok());
  std::string forged =
      signBundle(renderPayload(fleet_, gateway("gw-103"), {9, "gw-103", ""}), *other);
  const std::string realFp = pub().fingerprint();
  forged.replace(forged.find("key ") + 4, realFp.size(), realFp);
  auto b = loadBundle(forged, pub(), 0);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.message(), "bundle signature is not valid: refusing it");
}

TEST_F(BundleTest, ABundleForAnotherGatewayIsRefusedWhenTheGatewayIsNamed) {
  auto b = loadBundle(bundle("gw-101-dairy", 1), pub(), 0, "gw-101-produce");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.message(), "bundle is for gateway 'gw-101-dairy', this is 'gw-101-produce'");
}

TEST_F(BundleTest, TruncatedOrExtendedBundlesAreRefused) {
  const std::string good = bundle("gw-103", 1);
  for (std::size_t n : {std::size_t{0}, std::size_t{10}, good.size() / 2, good.size() - 1})
    EXPECT_FALSE(loadBundle(good.substr(0, n), pub(), 0).ok()) << n;
  EXPECT_FALSE(loadBundle(good + "\n", pub(), 0).ok());
}

TEST_F(BundleTest, ACorrectlySignedButInvalidPayloadIsRefused) {
  std::string payload = renderPayload(fleet_, gateway("gw-103"), {1, "gw-103", ""});
  payload.replace(payload.find("zone = \"shop\""), 13, "zone = \"nope\"");
  auto b = loadBundle(signBundle(payload, *key_), pub(), 0);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("zone 'nope' is not defined in store 103"), std::string::npos)
      << b.message();
}

TEST_F(BundleTest, APayloadWithoutItsOwnGatewayIsRefused) {
  std::string payload = renderPayload(fleet_, gateway("gw-103"), {1, "gw-999", ""});
  auto b = loadBundle(signBundle(payload, *key_), pub(), 0);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.message(), "bundle payload does not describe its own gateway 'gw-999'");
}

TEST(Signing, KeysSurvivePemRoundTrips) {
  auto k = PrivateKey::generate();
  ASSERT_TRUE(k.ok());
  auto again = PrivateKey::fromPem(k->pem());
  ASSERT_TRUE(again.ok());
  auto pub = PublicKey::fromPem(k->publicKey().pem());
  ASSERT_TRUE(pub.ok());
  EXPECT_TRUE(pub->verify("hello", again->sign("hello")));
  EXPECT_FALSE(pub->verify("hellO", again->sign("hello")));
  EXPECT_EQ(pub->fingerprint().size(), 16u);
}

TEST(Signing, AnEncryptedPrivateKeyIsRefusedWithoutPrompting) {
  auto k = PrivateKey::generate();
  ASSERT_TRUE(k.ok());
  const std::string pem = k->pem();
  auto plain = PrivateKey::fromPem(pem);
  ASSERT_TRUE(plain.ok());
  BIO* in = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  ASSERT_NE(raw, nullptr);
  BIO* out = BIO_new(BIO_s_mem());
  char pass[] = "secret";
  ASSERT_EQ(PEM_write_bio_PrivateKey(out, raw, EVP_aes_256_cbc(), nullptr, 0, nullptr, pass), 1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(out, &data);
  const std::string encrypted(data, static_cast<std::size_t>(n));
  BIO_free(out);
  EVP_PKEY_free(raw);
  ASSERT_NE(encrypted.find("ENCRYPTED"), std::string::npos);
  EXPECT_FALSE(PrivateKey::fromPem(encrypted).ok());
}

TEST(Signing, NonEd25519AndGarbageKeysAreRefused) {
  EXPECT_FALSE(PublicKey::fromPem("not a key").ok());
  EXPECT_FALSE(PrivateKey::fromPem("").ok());
  // An EC key in PEM is a key, but not the kind bundles are signed with.
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(ec, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PUBKEY(bio, ec), 1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  const std::string pem(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(ec);
  auto refused = PublicKey::fromPem(pem);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.message(), "the public key is not an Ed25519 key");
}

}  // namespace
}  // namespace aisle::fwconfig
