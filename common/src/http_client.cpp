#include "aisle/common/http_client.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/URI.h>

#include <memory>
#include <sstream>

namespace aisle::http {

Result<ClientResponse> request(const std::string& method, const std::string& url, const Headers& headers,
                               const std::string& body, std::chrono::milliseconds timeout,
                               const std::string& contentType) {
  try {
    Poco::URI uri(url);
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (uri.getScheme() == "https") {
      static const Poco::Net::Context::Ptr tls = new Poco::Net::Context(
          Poco::Net::Context::TLS_CLIENT_USE, "", Poco::Net::Context::VERIFY_STRICT, 9, true);
      session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), tls);
    } else if (uri.getScheme() == "http") {
      session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    } else {
      return fail("unsupported URL scheme in '" + url + "'");
    }
    session->setTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(timeout).count()));
    Poco::Net::HTTPRequest req(method, targetOf(url), Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [k, v] : headers) req.set(k, v);
    if (!body.empty() || method == "POST" || method == "PUT") {
      req.setContentType(contentType);
      req.setContentLength64(static_cast<std::int64_t>(body.size()));
    }
    session->sendRequest(req) << body;
    Poco::Net::HTTPResponse resp;
    std::istream& is = session->receiveResponse(resp);
    std::ostringstream ss;
    ss << is.rdbuf();
    return ClientResponse{static_cast<int>(resp.getStatus()), ss.str()};
  } catch (const Poco::Exception& e) {
    return fail(method + " " + url + ": " + e.displayText());
  } catch (const std::exception& e) {
    return fail(method + " " + url + ": " + e.what());
  }
}

}  // namespace aisle::http
