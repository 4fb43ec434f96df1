#pragma once
// One outgoing HTTP(S) request (Poco::Net): gateway uplink, webhooks, FCM. Network failures are
// returned as errors, never thrown, so callers decide between retry and give-up.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "aisle/common/result.h"

namespace aisle::http {

struct ClientResponse {
  int status = 0;
  std::string body;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// url: http://host:port/path?query or https://... (TLS verified against the system CA store).
Result<ClientResponse> request(const std::string& method, const std::string& url, const Headers& headers,
                               const std::string& body, std::chrono::milliseconds timeout,
                               const std::string& contentType = "application/json");

// The path?query part of a URL, which is what request signatures cover. Inline so that a binary
// with its own transport (the gateway's uplink) signs with the same rule without linking NetSSL.
inline std::string targetOf(const std::string& url) {
  // Byte for byte as written: signatures cover the target, and re-encoding (as Poco::URI does for
  // ';', '=' or "%2F") would make the server see a different one.
  const auto scheme = url.find("://");
  const auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (slash == std::string::npos) return "/";
  std::string t = url.substr(slash);
  if (const auto hash = t.find('#'); hash != std::string::npos) t.erase(hash);
  return t;
}

}  // namespace aisle::http
