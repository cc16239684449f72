#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>

namespace autoplacer::net {
namespace ssl = boost::asio::ssl;

namespace {
HttpError tls_error(std::string message) {
  return HttpError{HttpError::Kind::kTls, std::move(message)};
}
}  // namespace

HttpResult<std::shared_ptr<ssl::context>> make_client_tls_context(const TlsClientOptions& options) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  if (ec) return make_err(tls_error("tls options: " + ec.message()));
  if (!options.ca_file.empty()) {
    ctx->load_verify_file(options.ca_file, ec);
    if (ec)
      return make_err(tls_error("cannot load CA file " + options.ca_file + ": " + ec.message()));
  } else {
    ctx->set_default_verify_paths(ec);
    if (ec) return make_err(tls_error("cannot load the system trust store: " + ec.message()));
  }
  ctx->set_verify_mode(options.verify_peer ? ssl::verify_peer : ssl::verify_none, ec);
  if (ec) return make_err(tls_error("verify mode: " + ec.message()));
  return ctx;
}

HttpResult<std::shared_ptr<ssl::context>> make_server_tls_context(
    const std::string& cert_chain_file, const std::string& private_key_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::single_dh_use,
                   ec);
  ctx->use_certificate_chain_file(cert_chain_file, ec);
  if (ec)
    return make_err(tls_error("cannot load certificate " + cert_chain_file + ": " + ec.message()));
  ctx->use_private_key_file(private_key_file, ssl::context::pem, ec);
  if (ec) return make_err(tls_error("cannot load key " + private_key_file + ": " + ec.message()));
  return ctx;
}

bool set_tls_peer_name(SSL* ssl, const std::string& host, bool verify_peer) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  const bool is_ip = !ec;
  // SSL_set_tlsext_host_name is a macro with a C-style cast; call what it expands to.
  if (!is_ip && SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                         const_cast<char*>(host.c_str())) != 1) {
    return false;
  }
  if (!verify_peer) return true;
  if (is_ip) {
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), address.to_string().c_str()) == 1;
  }
  return SSL_set1_host(ssl, host.c_str()) == 1;
}

std::string describe_tls_failure(SSL* ssl, const std::string& fallback) {
  if (ssl != nullptr) {
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      return std::string("certificate verification failed: ") +
             X509_verify_cert_error_string(verify);
    }
  }
  return fallback;
}

}  // namespace autoplacer::net
