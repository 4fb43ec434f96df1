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

// The path?query part of a URL, which is what request signatures cover.
std::string targetOf(const std::string& url);

}  // namespace aisle::http
