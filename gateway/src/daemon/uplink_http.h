#pragma once
// The daemon's outgoing HTTP(S) requests (uplink, heartbeat, LAN forwarding). Same contract as
// aisle::http::request (common/http_client.h), but TLS is done with OpenSSL's libssl directly
// instead of Poco::NetSSL: NetSSL drags PocoUtil, PocoXML, PocoJSON, PocoCrypto and expat into the
// process, ~1.7 MB of resident library pages that the gateway's 16 MB budget cannot afford
// (GATEWAY.md, "Resident memory"). Plain http:// still goes through Poco::Net's HTTPClientSession.
#include <chrono>
#include <string>

#include "aisle/common/http_client.h"
#include "aisle/common/result.h"

namespace aisle::gateway {

// url: http://host:port/path or https://host:port/path (TLS >= 1.2, the peer's certificate chain
// verified against the system CA store — or $SSL_CERT_FILE / $SSL_CERT_DIR — and its name or IP
// checked against the URL's host). Failures are returned, never thrown.
Result<http::ClientResponse> uplinkRequest(const std::string& method, const std::string& url,
                                           const http::Headers& headers, const std::string& body,
                                           std::chrono::milliseconds timeout,
                                           const std::string& contentType = "application/json");

}  // namespace aisle::gateway
