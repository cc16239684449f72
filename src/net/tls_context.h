#pragma once
// OpenSSL contexts for our HTTPS client (and for test servers). Kept apart from the client so a
// server (flysim with TLS, test fixtures) can build its context the same way.
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "net/http_types.h"

namespace autoplacer::net {

struct TlsClientOptions {
  // PEM file of trusted CAs. Empty: the system's default trust store (Debian: ca-certificates).
  std::string ca_file;
  // Certificate and host-name verification. Only tests may turn this off; it is on by default.
  bool verify_peer = true;
};

HttpResult<std::shared_ptr<boost::asio::ssl::context>> make_client_tls_context(
    const TlsClientOptions& options);

// Server context from a PEM certificate chain and its private key.
HttpResult<std::shared_ptr<boost::asio::ssl::context>> make_server_tls_context(
    const std::string& cert_chain_file, const std::string& private_key_file);

// Per connection: SNI (host names only; RFC 6066 forbids IP literals) and the name or IP the
// peer's certificate must match. Returns false when OpenSSL refuses the value.
bool set_tls_peer_name(SSL* ssl, const std::string& host, bool verify_peer);

// The last OpenSSL error queue entry plus the verification result, for error messages.
std::string describe_tls_failure(SSL* ssl, const std::string& fallback);

}  // namespace autoplacer::net
