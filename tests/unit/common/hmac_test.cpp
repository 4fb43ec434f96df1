#include "aisle/common/hmac.h"

#include <gtest/gtest.h>

namespace aisle {
namespace {

RequestVerifier::KeyLookup keys() {
  return [](const std::string& id) -> std::optional<std::string> {
    if (id == "gw-1") return std::string("s3cret");
    return std::nullopt;
  };
}

}  // namespace

TEST(Hmac, MatchesRfc4231TestCase2) {
  EXPECT_EQ(toHex(hmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hmac, HexRoundTripsAndRejectsBadDigits) {
  EXPECT_EQ(*fromHex(toHex(std::string("\x00\xff\x10", 3))), std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(fromHex("abc").ok());
  EXPECT_FALSE(fromHex("zz").ok());
}

TEST(RequestVerifier, AcceptsACorrectlySignedRequestOnce) {
  ManualClock clock;
  RequestSigner signer("gw-1", "s3cret", clock);
  RequestVerifier verifier(keys(), clock);
  const std::string auth = signer.sign("POST", "/v1/proximity/events", "{\"events\":[]}");
  auto ok = verifier.verify(auth, "POST", "/v1/proximity/events", "{\"events\":[]}");
  ASSERT_TRUE(ok.ok()) << ok.message();
  EXPECT_EQ(*ok, "gw-1");
  auto replay = verifier.verify(auth, "POST", "/v1/proximity/events", "{\"events\":[]}");
  ASSERT_FALSE(replay.ok());
  EXPECT_NE(replay.message().find("replayed"), std::string::npos);
}

TEST(RequestVerifier, RejectsATamperedBodyPathOrMethod) {
  ManualClock clock;
  RequestSigner signer("gw-1", "s3cret", clock);
  RequestVerifier verifier(keys(), clock);
  const std::string auth = signer.sign("POST", "/v1/a", "body");
  EXPECT_FALSE(verifier.verify(auth, "POST", "/v1/a", "bodY").ok());
  EXPECT_FALSE(verifier.verify(auth, "POST", "/v1/b", "body").ok());
  EXPECT_FALSE(verifier.verify(auth, "PUT", "/v1/a", "body").ok());
}

TEST(RequestVerifier, RejectsTimestampsOutsideTheWindow) {
  ManualClock clock;
  RequestSigner signer("gw-1", "s3cret", clock);
  RequestVerifier verifier(keys(), clock, std::chrono::minutes(5));
  const std::string auth = signer.sign("GET", "/x", "");
  clock.advance(std::chrono::minutes(6));
  auto r = verifier.verify(auth, "GET", "/x", "");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("window"), std::string::npos);
}

TEST(RequestVerifier, RejectsUnknownKeysAndWrongSecrets) {
  ManualClock clock;
  RequestVerifier verifier(keys(), clock);
  EXPECT_NE(verifier.verify(RequestSigner("gw-9", "s3cret", clock).sign("GET", "/x", ""), "GET", "/x", "")
                .message()
                .find("unknown key"),
            std::string::npos);
  EXPECT_NE(verifier.verify(RequestSigner("gw-1", "guess", clock).sign("GET", "/x", ""), "GET", "/x", "")
                .message()
                .find("signature"),
            std::string::npos);
}

TEST(RequestVerifier, RejectsMalformedHeaders) {
  ManualClock clock;
  RequestVerifier verifier(keys(), clock);
  EXPECT_FALSE(verifier.verify("Bearer abc", "GET", "/x", "").ok());
  EXPECT_FALSE(verifier.verify("AISLE-HMAC-SHA256 key=gw-1,ts=abc,nonce=00,sig=00", "GET", "/x", "").ok());
  EXPECT_FALSE(verifier.verify("", "GET", "/x", "").ok());
}

TEST(ConstantTimeEquals, ComparesContentAndLength) {
  EXPECT_TRUE(constantTimeEquals("abc", "abc"));
  EXPECT_FALSE(constantTimeEquals("abc", "abd"));
  EXPECT_FALSE(constantTimeEquals("abc", "abcd"));
}

}  // namespace aisle
