// Real sockets on 127.0.0.1 with port 0; the client is Poco's, as a POS terminal or gateway would use.
#include "aisle/common/http.h"
#include "aisle/common/http_client.h"

#include <gtest/gtest.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <sstream>

namespace aisle::http {
namespace {

struct Reply {
  int status;
  std::string body;
  std::string contentType;
};

Reply call(std::uint16_t port, const std::string& method, const std::string& target, const std::string& body = "",
           const std::string& auth = "") {
  Poco::Net::HTTPClientSession s("127.0.0.1", port);
  Poco::Net::HTTPRequest req(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!auth.empty()) req.set("Authorization", auth);
  req.setContentLength64(static_cast<std::int64_t>(body.size()));
  s.sendRequest(req) << body;
  Poco::Net::HTTPResponse resp;
  std::istream& is = s.receiveResponse(resp);
  std::stringstream ss;
  ss << is.rdbuf();
  return {static_cast<int>(resp.getStatus()), ss.str(), resp.getContentType()};
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    verifier = std::make_shared<RequestVerifier>(
        [](const std::string& id) -> std::optional<std::string> {
          return id == "pos-1" ? std::optional<std::string>("k") : std::nullopt;
        },
        clock);
    Router r;
    r.add("GET", "/v1/cards/{card}/coupons", hmacAuthenticator(verifier), [](const Request& q) {
      return Response::json(200, "{\"card\":\"" + q.params.at("card") + "\",\"store\":\"" +
                                     q.queryParam("store").value_or("") + "\",\"by\":\"" + q.principal + "\"}");
    });
    r.add("POST", "/v1/echo", hmacAuthenticator(verifier), [](const Request& q) { return Response::json(200, q.body); });
    r.add("GET", "/v1/boom", publicRoute(), [](const Request&) -> Response { throw std::runtime_error("secret detail"); });
    r.addStream("GET", "/v1/stream", publicRoute(), [](const Request&, StreamWriter& w) {
      for (int i = 0; i < 3; ++i) w.write("data: " + std::to_string(i) + "\n\n");
    });
    ServerOptions o;
    o.maxBodyBytes = 1024;
    o.component = "test";
    metrics = std::make_shared<MetricsRegistry>();
    server = std::make_unique<Server>(std::move(r), o, metrics, Logger("http", nullptr));
    server->start();
  }
  ManualClock clock{};
  std::shared_ptr<RequestVerifier> verifier;
  std::shared_ptr<MetricsRegistry> metrics;
  std::unique_ptr<Server> server;
};

}  // namespace

TEST_F(HttpServerTest, HealthAndMetricsNeedNoAuthentication) {
  auto h = call(server->port(), "GET", "/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "{\"status\":\"ok\"}");
  call(server->port(), "GET", "/healthz");
  auto m = call(server->port(), "GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.contentType.find("text/plain"), std::string::npos);
  EXPECT_NE(m.body.find("aisle_test_http_requests_total{route=\"/healthz\",code=\"200\"} 2"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("# TYPE aisle_test_http_request_seconds histogram"), std::string::npos);
}

TEST_F(HttpServerTest, UnsignedRequestsAreRefusedWith401AndAReason) {
  auto r = call(server->port(), "GET", "/v1/cards/123456/coupons?store=7");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, "{\"error\":\"missing Authorization header\"}");
  auto bad = call(server->port(), "GET", "/v1/cards/123456/coupons?store=7", "",
                  RequestSigner("pos-1", "wrong", clock).sign("GET", "/v1/cards/123456/coupons?store=7", ""));
  EXPECT_EQ(bad.status, 401);
}

TEST_F(HttpServerTest, SignedRequestsReachTheHandlerWithPathAndQueryParameters) {
  const std::string target = "/v1/cards/0042%2099/coupons?store=7";
  auto r = call(server->port(), "GET", target, "", RequestSigner("pos-1", "k", clock).sign("GET", target, ""));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"card\":\"0042 99\",\"store\":\"7\",\"by\":\"pos-1\"}");
}

TEST_F(HttpServerTest, TheSignatureCoversTheQuerySoAStoreCannotBeSwapped) {
  const std::string signedFor = "/v1/cards/1/coupons?store=7";
  auto r = call(server->port(), "GET", "/v1/cards/1/coupons?store=8", "",
                RequestSigner("pos-1", "k", clock).sign("GET", signedFor, ""));
  EXPECT_EQ(r.status, 401);
}

TEST_F(HttpServerTest, OversizedBodiesGet413BeforeTheHandlerRuns) {
  const std::string big(4096, 'x');
  auto r = call(server->port(), "POST", "/v1/echo", big, RequestSigner("pos-1", "k", clock).sign("POST", "/v1/echo", big));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, "{\"error\":\"request body larger than 1024 bytes\"}");
}

// A declared length is read straight into the request; a chunked body (no length) in pieces.
TEST_F(HttpServerTest, BodiesUpToTheLimitArriveByteForByteWithOrWithoutAContentLength) {
  std::string body(1024, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + (i * 7) % 26);
  const std::string auth = RequestSigner("pos-1", "k", clock).sign("POST", "/v1/echo", body);
  auto declared = call(server->port(), "POST", "/v1/echo", body, auth);
  EXPECT_EQ(declared.status, 200);
  EXPECT_EQ(declared.body, body);

  Poco::Net::HTTPClientSession s("127.0.0.1", server->port());
  Poco::Net::HTTPRequest req("POST", "/v1/echo", Poco::Net::HTTPMessage::HTTP_1_1);
  req.set("Authorization", RequestSigner("pos-1", "k", clock).sign("POST", "/v1/echo", body));
  req.setChunkedTransferEncoding(true);
  s.sendRequest(req) << body;
  Poco::Net::HTTPResponse resp;
  std::stringstream chunked;
  chunked << s.receiveResponse(resp).rdbuf();
  EXPECT_EQ(static_cast<int>(resp.getStatus()), 200);
  EXPECT_EQ(chunked.str(), body);
}

TEST_F(HttpServerTest, UnknownPathsAre404AndWrongMethodsAre405) {
  EXPECT_EQ(call(server->port(), "GET", "/nope").status, 404);
  EXPECT_EQ(call(server->port(), "DELETE", "/v1/echo").status, 405);
}

TEST_F(HttpServerTest, AFailingHandlerAnswers500WithoutLeakingDetails) {
  auto r = call(server->port(), "GET", "/v1/boom");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("secret"), std::string::npos);
  EXPECT_EQ(call(server->port(), "GET", "/healthz").status, 200);  // and the server keeps serving
}

TEST_F(HttpServerTest, StreamingRoutesSendServerSentEvents) {
  auto r = call(server->port(), "GET", "/v1/stream");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.contentType, "text/event-stream");
  EXPECT_EQ(r.body, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
}

TEST(Router, EveryRouteNeedsAnAuthenticationPolicy) {
  Router r;
  r.add("GET", "/x", nullptr, [](const Request&) { return Response::json(200, "{}"); });
  Request q;
  q.method = "GET";
  q.path = "/x";
  EXPECT_EQ(r.dispatch(q).status, 500);
}

TEST(Metrics, RendersCountersGaugesAndHistogramsInPrometheusFormat) {
  MetricsRegistry reg;
  reg.counter("aisle_x_total", "xs", "kind=\"a\"").inc(3);
  reg.gauge("aisle_depth", "depth").set(7);
  auto& h = reg.histogram("aisle_lat_seconds", "latency", "", {0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  const std::string text = reg.render();
  EXPECT_NE(text.find("# TYPE aisle_x_total counter\naisle_x_total{kind=\"a\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("aisle_depth 7\n"), std::string::npos);
  EXPECT_NE(text.find("aisle_lat_seconds_bucket{le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("aisle_lat_seconds_bucket{le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("aisle_lat_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("aisle_lat_seconds_count 3\n"), std::string::npos);
}

}  // namespace aisle::http

namespace aisle::http {

TEST(HttpClient, SendsTheTargetByteForByteSoSignaturesOverEncodedPathsHold) {
  EXPECT_EQ(targetOf("http://127.0.0.1:8080/v1/cards/%3B123%3D45/coupons?store=7"), "/v1/cards/%3B123%3D45/coupons?store=7");
  EXPECT_EQ(targetOf("http://h/a;b=c?x=%2F#frag"), "/a;b=c?x=%2F");
  EXPECT_EQ(targetOf("https://example.test"), "/");
}

TEST_F(HttpServerTest, ASignatureOverAPercentEncodedPathVerifiesThroughTheClient) {
  const std::string target = "/v1/cards/%3B0042%3D99%3F/coupons?store=7";
  auto r = request("GET", "http://127.0.0.1:" + std::to_string(server->port()) + target,
                   {{"Authorization", RequestSigner("pos-1", "k", clock).sign("GET", target, "")}}, "",
                   std::chrono::seconds(5));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, "{\"card\":\";0042=99?\",\"store\":\"7\",\"by\":\"pos-1\"}");
}

}  // namespace aisle::http
