#include "aisle/common/http.h"

#include "aisle/common/json.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <chrono>
#include <istream>
#include <ostream>
#include <sstream>

namespace aisle::http {

std::optional<std::string> Request::header(const std::string& lowerName) const {
  auto it = headers.find(lowerName);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Request::queryParam(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

std::string jsonEscape(const std::string& s) { return aisle::jsonEscape(s); }

std::string urlDecode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size()) {
      auto hex = fromHex(s.substr(i + 1, 2));
      if (hex) {
        out += *hex;
        i += 2;
      } else {
        out.push_back('%');
      }
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::error(int status, const std::string& message) {
  return json(status, "{\"error\":\"" + jsonEscape(message) + "\"}");
}

Authenticator publicRoute() {
  return [](const Request&) -> Result<std::string> { return std::string("public"); };
}

Authenticator hmacAuthenticator(std::shared_ptr<RequestVerifier> verifier) {
  return [verifier](const Request& r) -> Result<std::string> {
    auto auth = r.header("authorization");
    if (!auth) return fail("missing Authorization header");
    return verifier->verify(*auth, r.method, r.target, r.body);
  };
}

namespace {

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : path) {
    if (c == '/') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace

void Router::add(const std::string& method, const std::string& pattern, Authenticator auth, Handler handler) {
  auto r = std::make_shared<Route>();
  r->method = method;
  r->segments = splitPath(pattern);
  r->auth = std::move(auth);
  r->handler = std::move(handler);
  r->pattern = pattern;
  routes_.push_back(std::move(r));
}

void Router::addStream(const std::string& method, const std::string& pattern, Authenticator auth,
                       StreamHandler handler) {
  auto r = std::make_shared<Route>();
  r->method = method;
  r->segments = splitPath(pattern);
  r->auth = std::move(auth);
  r->stream = std::move(handler);
  r->pattern = pattern;
  routes_.push_back(std::move(r));
}

Router::Match Router::match(const std::string& method, const std::string& path) const {
  Match m;
  const auto segs = splitPath(path);
  for (const auto& r : routes_) {
    if (r->segments.size() != segs.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      const auto& p = r->segments[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        params[p.substr(1, p.size() - 2)] = urlDecode(segs[i]);
      } else {
        ok = p == segs[i];
      }
    }
    if (!ok) continue;
    m.pathKnown = true;
    if (r->method == method) {
      m.route = r.get();
      m.params = std::move(params);
      return m;
    }
  }
  return m;
}

Response Router::dispatch(Request& req) const {
  auto m = match(req.method, req.path);
  if (!m.route) return m.pathKnown ? Response::error(405, "method not allowed") : Response::error(404, "no such route");
  req.params = m.params;
  if (!m.route->auth) return Response::error(500, "route has no authentication policy");
  auto who = m.route->auth(req);
  if (!who) return Response::error(401, who.message());
  req.principal = *who;
  if (!m.route->handler) return Response::error(500, "streaming route called without a stream");
  return m.route->handler(req);
}

// ------------------------------------------------------------------ Poco adapter

struct Server::Impl {
  Router router;
  ServerOptions options;
  std::shared_ptr<MetricsRegistry> metrics;
  Logger log;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  std::uint16_t port = 0;
};

namespace {

class PocoStreamWriter final : public StreamWriter {
 public:
  explicit PocoStreamWriter(std::ostream& os) : os_(os) {}
  bool write(const std::string& chunk) override {
    try {
      os_ << chunk;
      os_.flush();
      return os_.good();
    } catch (const Poco::Exception&) {
      return false;
    }
  }

 private:
  std::ostream& os_;
};

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(Server::Impl& s) : s_(s) {}

  void handleRequest(Poco::Net::HTTPServerRequest& in, Poco::Net::HTTPServerResponse& out) override {
    const auto start = std::chrono::steady_clock::now();
    Request req;
    req.method = in.getMethod();
    req.target = in.getURI();
    const auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) parseQuery(req.target.substr(q + 1), req.query);
    for (const auto& [k, v] : in) {
      std::string lower = k;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers[lower] = v;
    }
    req.remoteAddress = in.clientAddress().host().toString();

    auto m = s_.router.match(req.method, req.path);
    const std::string routeLabel = m.route ? m.route->pattern : "unmatched";
    Response resp;
    if (!m.route) {
      resp = m.pathKnown ? Response::error(405, "method not allowed") : Response::error(404, "no such route");
    } else if (!readBody(in, req, resp)) {
      // resp holds the 400/413
    } else if (m.route->stream) {
      req.params = m.params;
      auto who = m.route->auth ? m.route->auth(req) : Result<std::string>(fail("route has no authentication policy"));
      if (!who) {
        resp = Response::error(401, who.message());
      } else {
        req.principal = *who;
        out.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
        out.setContentType("text/event-stream");
        out.set("Cache-Control", "no-cache");
        out.setChunkedTransferEncoding(true);
        PocoStreamWriter w(out.send());
        s_.metrics->counter("aisle_" + s_.options.component + "_http_requests_total", "HTTP requests",
                            "route=\"" + routeLabel + "\",code=\"200\"").inc();
        m.route->stream(req, w);
        return;
      }
    } else {
      try {
        resp = s_.router.dispatch(req);
      } catch (const Unavailable& e) {
        resp = Response::error(503, e.what());
        resp.headers.emplace_back("Retry-After", std::to_string(e.retryAfterS));
      } catch (const std::exception& e) {
        // A handler bug must not take the server down or leak internals to the caller.
        s_.log.error(std::string("handler for ") + routeLabel + " failed: " + e.what());
        resp = Response::error(500, "internal error");
      }
    }
    send(out, resp);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    s_.metrics->counter("aisle_" + s_.options.component + "_http_requests_total", "HTTP requests",
                        "route=\"" + routeLabel + "\",code=\"" + std::to_string(resp.status) + "\"").inc();
    s_.metrics->histogram("aisle_" + s_.options.component + "_http_request_seconds", "HTTP request latency",
                          "route=\"" + routeLabel + "\"").observe(secs);
  }

 private:
  static void parseQuery(const std::string& q, std::map<std::string, std::string>& out) {
    std::istringstream ss(q);
    std::string part;
    while (std::getline(ss, part, '&')) {
      if (part.empty()) continue;
      const auto eq = part.find('=');
      out[urlDecode(part.substr(0, eq))] = eq == std::string::npos ? "" : urlDecode(part.substr(eq + 1));
    }
  }

  bool readBody(Poco::Net::HTTPServerRequest& in, Request& req, Response& resp) {
    const std::size_t limit = s_.options.maxBodyBytes;
    std::istream& is = in.stream();
    char buf[16384];
    const bool declaredTooBig = in.hasContentLength() && in.getContentLength64() > static_cast<std::int64_t>(limit);
    if (!declaredTooBig && in.hasContentLength()) {
      // The declared length straight into the body: no bounce buffer, no regrowth (a till's sale is
      // 20 KB, a store controller's batch a few hundred). More bytes than declared are not ours.
      req.body.resize(static_cast<std::size_t>(in.getContentLength64()));
      is.read(req.body.data(), static_cast<std::streamsize>(req.body.size()));
      req.body.resize(static_cast<std::size_t>(is.gcount()));
      return true;
    }
    while (!declaredTooBig && is) {
      is.read(buf, sizeof buf);
      req.body.append(buf, static_cast<std::size_t>(is.gcount()));
      if (req.body.size() > limit) break;
    }
    if (!declaredTooBig && req.body.size() <= limit) return true;
    // Read (and drop) a bounded amount more before answering, so a client still sending sees the
    // 413 instead of a reset connection; beyond the bound the connection is simply closed.
    std::size_t drained = 0;
    while (is && drained < 8 * limit) {
      is.read(buf, sizeof buf);
      drained += static_cast<std::size_t>(is.gcount());
    }
    req.body.clear();
    resp = Response::error(413, "request body larger than " + std::to_string(limit) + " bytes");
    resp.headers.emplace_back("Connection", "close");
    return false;
  }

  static void send(Poco::Net::HTTPServerResponse& out, const Response& r) {
    out.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(r.status));
    out.setContentType(r.contentType);
    for (const auto& [k, v] : r.headers) out.set(k, v);
    out.setContentLength64(static_cast<std::int64_t>(r.body.size()));
    out.send() << r.body;
  }

  Server::Impl& s_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(Server::Impl& s) : s_(s) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(s_);
  }

 private:
  Server::Impl& s_;
};

}  // namespace

Server::Server(Router router, ServerOptions options, std::shared_ptr<MetricsRegistry> metrics, Logger log,
               std::function<Response()> health)
    : impl_(std::make_unique<Impl>(Impl{std::move(router), std::move(options), std::move(metrics), std::move(log), nullptr, 0})) {
  auto reg = impl_->metrics;
  impl_->router.add("GET", "/healthz", publicRoute(), [health](const Request&) {
    return health ? health() : Response::json(200, "{\"status\":\"ok\"}");
  });
  impl_->router.add("GET", "/metrics", publicRoute(), [reg](const Request&) {
    Response r = Response::json(200, reg->render());
    r.contentType = "text/plain; version=0.0.4";
    return r;
  });
}

Server::~Server() { stop(); }

void Server::start() {
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress(impl_->options.host, impl_->options.port));
  impl_->port = socket.address().port();
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(impl_->options.maxThreads);
  params->setMaxQueued(impl_->options.maxQueued);
  params->setTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(impl_->options.timeout).count()));
  params->setKeepAlive(true);
  impl_->server = std::make_unique<Poco::Net::HTTPServer>(new Factory(*impl_), socket, params);
  impl_->server->start();
  impl_->log.info("listening on " + impl_->options.host + ":" + std::to_string(impl_->port));
}

void Server::stop() {
  if (impl_ && impl_->server) {
    impl_->server->stopAll(true);
    impl_->server.reset();
  }
}

std::uint16_t Server::port() const { return impl_->port; }

}  // namespace aisle::http
