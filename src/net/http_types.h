#pragma once
// The HTTP vocabulary shared by our client (Machines API, Prometheus, etcd) and our server
// (the controller's endpoints, flysim). Bodies are strings: everything we speak is small JSON
// or text, and size limits are enforced when reading.
#include <boost/beast/http.hpp>
#include <string>

#include "common/result.h"

namespace autoplacer::net {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct HttpError {
  enum class Kind {
    kResolve,       // name did not resolve
    kConnect,       // TCP connect failed
    kTls,           // handshake or certificate verification failed
    kTimeout,       // connect or request deadline passed; a write may or may not have happened
    kClosed,        // the peer closed or reset the connection mid-exchange
    kProtocol,      // not HTTP, or malformed
    kBodyTooLarge,  // response larger than the limit
    kCancelled,     // shutting down
  };
  Kind kind = Kind::kProtocol;
  std::string message;
};

const char* to_string(HttpError::Kind kind);

template <class T>
using HttpResult = Result<T, HttpError>;

}  // namespace autoplacer::net
