#include "uplink_http.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/URI.h>

#include <array>
#include <cerrno>
#include <istream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <streambuf>

namespace aisle::gateway {
namespace {

std::string sslErrors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    std::array<char, 256> buf{};
    ERR_error_string_n(e, buf.data(), buf.size());
    if (!out.empty()) out += "; ";
    out += buf.data();
  }
  return out.empty() ? "no OpenSSL error queued" : out;
}

// One client context for the process: verification settings never change, and building it loads
// the CA store once rather than per request.
SSL_CTX* clientContext() {
  static SSL_CTX* const ctx = [] {
    SSL_CTX* c = SSL_CTX_new(TLS_client_method());
    if (c == nullptr) throw std::runtime_error("SSL_CTX_new: " + sslErrors());
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_set_default_verify_paths(c) != 1) throw std::runtime_error("CA store: " + sslErrors());
    return c;
  }();
  return ctx;
}

struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};

// Reads the response through the TLS session; errors end the stream and are kept for the message.
class SslReadBuf : public std::streambuf {
 public:
  explicit SslReadBuf(SSL* ssl) : ssl_(ssl) {}
  const std::string& error() const { return error_; }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    const int n = SSL_read(ssl_, buf_.data(), static_cast<int>(buf_.size()));
    if (n <= 0) {
      const int e = SSL_get_error(ssl_, n);
      // A close_notify is the normal end of a close-delimited body; anything else is an error.
      if (e != SSL_ERROR_ZERO_RETURN) {
        error_ = (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) ? "timed out reading the response"
                                                                                     : "TLS read failed: " + sslErrors();
      }
      return traits_type::eof();
    }
    setg(buf_.data(), buf_.data(), buf_.data() + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  SSL* ssl_;
  std::array<char, 16384> buf_{};
  std::string error_;
};

bool isIpLiteral(const std::string& host) {
  std::array<unsigned char, 16> addr{};
  return inet_pton(AF_INET, host.c_str(), addr.data()) == 1 || inet_pton(AF_INET6, host.c_str(), addr.data()) == 1;
}

std::string readChunked(std::istream& in, const std::string& what) {
  std::string body, line;
  for (;;) {
    if (!std::getline(in, line)) throw std::runtime_error(what + ": truncated chunked body");
    const std::size_t size = std::stoul(line, nullptr, 16);
    if (size == 0) break;
    std::string chunk(size, '\0');
    if (!in.read(chunk.data(), static_cast<std::streamsize>(size))) throw std::runtime_error(what + ": truncated chunk");
    body += chunk;
    std::getline(in, line);  // the CRLF after the chunk
  }
  return body;
}

http::ClientResponse httpsExchange(const Poco::URI& uri, Poco::Net::HTTPRequest& req, const std::string& body,
                                   std::chrono::milliseconds timeout) {
  const Poco::Timespan span(std::chrono::duration_cast<std::chrono::microseconds>(timeout).count());
  Poco::Net::StreamSocket sock;
  sock.connect(Poco::Net::SocketAddress(uri.getHost(), uri.getPort()), span);
  sock.setReceiveTimeout(span);
  sock.setSendTimeout(span);
  sock.setNoDelay(true);

  std::unique_ptr<SSL, SslFree> ssl(SSL_new(clientContext()));
  if (!ssl) throw std::runtime_error("SSL_new: " + sslErrors());
  SSL_set_fd(ssl.get(), static_cast<int>(sock.impl()->sockfd()));
  const std::string& host = uri.getHost();
  if (isIpLiteral(host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl.get(), host.c_str());
    SSL_set1_host(ssl.get(), host.c_str());
  }
  if (SSL_connect(ssl.get()) != 1) {
    const long verify = SSL_get_verify_result(ssl.get());
    throw std::runtime_error(verify != X509_V_OK ? std::string("certificate verification failed: ") +
                                                       X509_verify_cert_error_string(verify)
                                                 : "TLS handshake failed: " + sslErrors());
  }

  std::ostringstream head;
  req.write(head);
  const std::string out = head.str() + body;
  for (std::size_t sent = 0; sent < out.size();) {
    const int n = SSL_write(ssl.get(), out.data() + sent, static_cast<int>(out.size() - sent));
    if (n <= 0) throw std::runtime_error("TLS write failed: " + sslErrors());
    sent += static_cast<std::size_t>(n);
  }

  SslReadBuf buf(ssl.get());
  std::istream in(&buf);
  Poco::Net::HTTPResponse resp;
  resp.read(in);
  if (!buf.error().empty()) throw std::runtime_error(buf.error());
  std::string text;
  if (resp.getChunkedTransferEncoding()) {
    text = readChunked(in, "response");
  } else if (resp.hasContentLength()) {
    text.resize(static_cast<std::size_t>(resp.getContentLength64()));
    if (!in.read(text.data(), static_cast<std::streamsize>(text.size()))) {
      throw std::runtime_error(buf.error().empty() ? "truncated response body" : buf.error());
    }
  } else {
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  if (!buf.error().empty()) throw std::runtime_error(buf.error());
  SSL_shutdown(ssl.get());
  return http::ClientResponse{static_cast<int>(resp.getStatus()), std::move(text)};
}

}  // namespace

Result<http::ClientResponse> uplinkRequest(const std::string& method, const std::string& url,
                                           const http::Headers& headers, const std::string& body,
                                           std::chrono::milliseconds timeout, const std::string& contentType) {
  try {
    Poco::URI uri(url);
    Poco::Net::HTTPRequest req(method, http::targetOf(url), Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [k, v] : headers) req.set(k, v);
    if (!body.empty() || method == "POST" || method == "PUT") {
      req.setContentType(contentType);
      req.setContentLength64(static_cast<std::int64_t>(body.size()));
    }
    if (uri.getScheme() == "https") {
      req.setHost(uri.getHost(), uri.getPort());
      // One request per connection, as the Poco path does with a fresh session per call.
      req.setKeepAlive(false);
      return httpsExchange(uri, req, body, timeout);
    }
    if (uri.getScheme() != "http") return fail("unsupported URL scheme in '" + url + "'");
    Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
    session.setTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(timeout).count()));
    session.sendRequest(req) << body;
    Poco::Net::HTTPResponse resp;
    std::istream& is = session.receiveResponse(resp);
    std::ostringstream ss;
    ss << is.rdbuf();
    return http::ClientResponse{static_cast<int>(resp.getStatus()), ss.str()};
  } catch (const Poco::Exception& e) {
    return fail(method + " " + url + ": " + e.displayText());
  } catch (const std::exception& e) {
    return fail(method + " " + url + ": " + e.what());
  }
}

}  // namespace aisle::gateway
