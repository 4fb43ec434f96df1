#pragma once
// The HTTP layer every service shares (Poco::Net underneath): a router with path parameters,
// authentication per route (every route but /healthz and /metrics must name one), request size
// limits, JSON errors, request metrics, and streaming routes for server-sent events.
// Handlers are plain functions of Request -> Response, so tests can call them without a socket.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "aisle/common/hmac.h"
#include "aisle/common/log.h"
#include "aisle/common/metrics.h"
#include "aisle/common/result.h"

namespace aisle::http {

struct Request {
  std::string method;
  std::string path;    // without the query
  std::string target;  // path?query as sent (what HMAC signatures cover)
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::map<std::string, std::string> params;   // from the route pattern, e.g. {card}
  std::string body;
  std::string principal;                       // set by the route's authenticator
  std::string remoteAddress;

  std::optional<std::string> header(const std::string& lowerName) const;
  std::optional<std::string> queryParam(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response json(int status, std::string body);
  // {"error": "<message>"} with the status; the message must be safe to show the caller.
  static Response error(int status, const std::string& message);
};

// Thrown by a handler or an authenticator when something it depends on (the database) is away:
// the server answers 503 with Retry-After rather than 500, so clients know to come back.
struct Unavailable : std::runtime_error {
  explicit Unavailable(const std::string& why, int seconds = 1) : std::runtime_error(why), retryAfterS(seconds) {}
  int retryAfterS;
};

// Writes to an open streaming response (server-sent events). write() returns false once the client
// has gone, so the handler can stop.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  virtual bool write(const std::string& chunk) = 0;
};

using Handler = std::function<Response(const Request&)>;
using StreamHandler = std::function<void(const Request&, StreamWriter&)>;
// Returns the authenticated principal (key id, terminal id, member id...) or why not.
using Authenticator = std::function<Result<std::string>(const Request&)>;

// A route with no authenticator is a programming error unless it is explicitly public.
Authenticator publicRoute();
// HMAC-signed requests (common/hmac.h) over method, path?query and body.
Authenticator hmacAuthenticator(std::shared_ptr<RequestVerifier> verifier);

class Router {
 public:
  // pattern: "/v1/cards/{card}/coupons" — {name} matches one non-empty path segment.
  void add(const std::string& method, const std::string& pattern, Authenticator auth, Handler handler);
  void addStream(const std::string& method, const std::string& pattern, Authenticator auth, StreamHandler handler);

  struct Match {
    const struct Route* route = nullptr;
    std::map<std::string, std::string> params;
    bool pathKnown = false;  // some route has this path (so a method mismatch is 405, not 404)
  };
  Match match(const std::string& method, const std::string& path) const;
  // Runs a non-streaming request through matching, authentication and the handler (no socket).
  Response dispatch(Request& req) const;

 private:
  std::vector<std::shared_ptr<struct Route>> routes_;
};

struct Route {
  std::string method;
  std::vector<std::string> segments;
  Authenticator auth;
  Handler handler;
  StreamHandler stream;
  std::string pattern;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (tests), read it back with Server::port()
  std::size_t maxBodyBytes = 1 << 20;
  int maxThreads = 16;
  int maxQueued = 256;
  std::chrono::milliseconds timeout{15000};
  std::string component = "http";  // metric prefix: aisle_<component>_http_...
};

class Server {
 public:
  // /healthz (public, {"status":"ok"} or the health callback's answer) and /metrics (public,
  // Prometheus text of `metrics`) are added to the router.
  Server(Router router, ServerOptions options, std::shared_ptr<MetricsRegistry> metrics, Logger log,
         std::function<Response()> health = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  void start();
  void stop();
  std::uint16_t port() const;

  struct Impl;  // public so the Poco adapter classes in http.cpp can reach it; defined there only

 private:
  std::unique_ptr<Impl> impl_;
};

std::string jsonEscape(const std::string& s);
// Decodes %XX and '+' in a query component.
std::string urlDecode(const std::string& s);

}  // namespace aisle::http
