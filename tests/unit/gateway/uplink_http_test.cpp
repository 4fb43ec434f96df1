// The daemon's own HTTPS client (gateway/src/daemon/uplink_http.cpp, libssl without Poco::NetSSL)
// against a real TLS server on 127.0.0.1 port 0 with certificates made here: what is sent, what is
// read back, and that untrusted or wrongly named certificates are refused.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "uplink_http.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct Identity {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
};

// A self-signed P-256 certificate whose subjectAltName is `san` ("IP:127.0.0.1", "DNS:other.example").
Identity makeIdentity(const char* cn, const char* san, long serial) {
  Identity id;
  id.key = EVP_EC_gen("P-256");
  id.cert = X509_new();
  X509_set_version(id.cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(id.cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(id.cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(id.cert), 3600);
  X509_set_pubkey(id.cert, id.key);
  X509_NAME* name = X509_get_subject_name(id.cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(id.cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, id.cert, id.cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san);
  X509_add_ext(id.cert, ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(id.cert, id.key, EVP_sha256());
  return id;
}

// One TLS connection served on 127.0.0.1:<port>: records the request bytes, answers `response`.
class OneShotTlsServer {
 public:
  OneShotTlsServer(const Identity& id, std::string response) : response_(std::move(response)) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx_, id.cert);
    SSL_CTX_use_PrivateKey(ctx_, id.key);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 1);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShotTlsServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  int port() const { return port_; }
  // Valid once the client call returned.
  const std::string& request() const { return request_; }

 private:
  void serve() {
    const int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, c);
    if (SSL_accept(ssl) == 1) {
      char buf[4096];
      // Headers, then Content-Length bytes of body.
      for (;;) {
        const auto end = request_.find("\r\n\r\n");
        if (end != std::string::npos) {
          const auto cl = request_.find("Content-Length: ");
          const std::size_t want = cl == std::string::npos ? 0 : std::stoul(request_.substr(cl + 16));
          if (request_.size() >= end + 4 + want) break;
        }
        const int n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0) break;
        request_.append(buf, static_cast<std::size_t>(n));
      }
      SSL_write(ssl, response_.data(), static_cast<int>(response_.size()));
      SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    ::close(c);
  }

  SSL_CTX* ctx_ = nullptr;
  int fd_ = -1;
  int port_ = 0;
  std::string response_;
  std::string request_;
  std::thread thread_;
};

// The client's context reads the CA store once per process, so the trust file is set up once:
// it trusts `loopback` (127.0.0.1) and `otherHost` (other.example), never `stranger`.
class UplinkHttpsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    loopback = makeIdentity("loopback", "IP:127.0.0.1", 1);
    otherHost = makeIdentity("other", "DNS:other.example", 2);
    stranger = makeIdentity("stranger", "IP:127.0.0.1", 3);
    trustFile = fs::temp_directory_path() / ("aisle-uplink-https-ca-" + std::to_string(::getpid()) + ".pem");
    FILE* f = std::fopen(trustFile.c_str(), "w");
    PEM_write_X509(f, loopback.cert);
    PEM_write_X509(f, otherHost.cert);
    std::fclose(f);
    ::setenv("SSL_CERT_FILE", trustFile.c_str(), 1);
  }
  static void TearDownTestSuite() { fs::remove(trustFile); }

  static inline Identity loopback, otherHost, stranger;
  static inline fs::path trustFile;
};

TEST_F(UplinkHttpsTest, ARequestToATrustedServerSendsTheTargetHeadersAndBodyAndReturnsStatusAndBody) {
  OneShotTlsServer server(loopback, "HTTP/1.1 202 Accepted\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}");
  const std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/v1/proximity/events?a=1;b=%2F";
  auto r = aisle::gateway::uplinkRequest("POST", url, {{"Authorization", "AISLE k:sig"}}, "{\"events\":[]}", 5s);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, "{\"ok\":true}");
  const std::string& req = server.request();
  // The target byte for byte (the signature covers it), the auth header, the body.
  EXPECT_EQ(req.rfind("POST /v1/proximity/events?a=1;b=%2F HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("Authorization: AISLE k:sig\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("Content-Type: application/json\r\n"), std::string::npos) << req;
  EXPECT_EQ(req.substr(req.size() - 13), "{\"events\":[]}");
  EXPECT_EQ(aisle::http::targetOf(url), "/v1/proximity/events?a=1;b=%2F");
}

TEST_F(UplinkHttpsTest, AChunkedResponseBodyIsReassembled) {
  OneShotTlsServer server(loopback,
                          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                          "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  auto r = aisle::gateway::uplinkRequest("POST", "https://127.0.0.1:" + std::to_string(server.port()) + "/x", {}, "b", 5s);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world");
}

TEST_F(UplinkHttpsTest, AServerWhoseCertificateIsNotTrustedIsRefused) {
  OneShotTlsServer server(stranger, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  auto r = aisle::gateway::uplinkRequest("POST", "https://127.0.0.1:" + std::to_string(server.port()) + "/x", {}, "b", 5s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("certificate verification failed"), std::string::npos) << r.message();
  EXPECT_EQ(server.request(), "") << r.message();
}

TEST_F(UplinkHttpsTest, ATrustedCertificateForAnotherHostIsRefused) {
  OneShotTlsServer server(otherHost, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  auto r = aisle::gateway::uplinkRequest("POST", "https://127.0.0.1:" + std::to_string(server.port()) + "/x", {}, "b", 5s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("certificate verification failed"), std::string::npos) << r.message();
  EXPECT_EQ(server.request(), "") << r.message();
}

TEST(UplinkHttpTest, UnsupportedSchemesAndUnreachableServersAreErrorsNotExceptions) {
  auto bad = aisle::gateway::uplinkRequest("POST", "ftp://127.0.0.1/x", {}, "", 1s);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.message().find("unsupported URL scheme"), std::string::npos) << bad.message();
  // Port 9 (discard) on loopback: nothing listens in the test environment.
  auto refused = aisle::gateway::uplinkRequest("POST", "https://127.0.0.1:9/x", {}, "", 1s);
  EXPECT_FALSE(refused);
}

}  // namespace
