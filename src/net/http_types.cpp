#include "net/http_types.h"

namespace autoplacer::net {

const char* to_string(HttpError::Kind kind) {
  switch (kind) {
    case HttpError::Kind::kResolve:
      return "resolve";
    case HttpError::Kind::kConnect:
      return "connect";
    case HttpError::Kind::kTls:
      return "tls";
    case HttpError::Kind::kTimeout:
      return "timeout";
    case HttpError::Kind::kClosed:
      return "closed";
    case HttpError::Kind::kProtocol:
      return "protocol";
    case HttpError::Kind::kBodyTooLarge:
      return "body_too_large";
    case HttpError::Kind::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

}  // namespace autoplacer::net
