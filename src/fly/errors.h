#pragma once
// Machines API failures as values. The kind says what the caller should do next; outcome_unknown
// says whether a write may have taken effect anyway (then: re-list before acting again).
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "net/http_types.h"

namespace autoplacer::fly {

struct FlyError {
  enum class Kind {
    kTransport,             // resolve/connect/TLS/connection dropped
    kTimeout,               // no answer in time (for a write: outcome unknown)
    kBadRequest,            // 400
    kUnauthorized,          // 401/403: bad or missing token
    kNotFound,              // 404
    kWaitTimeout,           // 408: /wait did not see the state in time (loop it)
    kConflict,              // 409: lease held by another, or stale current_version
    kPrecondition,          // 412: metadata machine_version mismatch
    kUnprocessable,         // 422: validation (e.g. name taken)
    kRateLimited,           // 429 (honour retry_after)
    kServer,                // 5xx
    kInsufficientCapacity,  // create refused for capacity: try the next region
    kBadResponse,           // 2xx with a body we cannot use, or an unexpected status
    kCancelled,             // shutting down
  };
  Kind kind = Kind::kTransport;
  int http_status = 0;     // 0 when no response was received
  std::string fly_status;  // the error body's "status": "insufficient_capacity", ...
  std::string message;     // human-readable, never contains the token
  std::string request_id;  // fly-request-id response header, for support tickets
  std::optional<std::chrono::milliseconds> retry_after;
  bool outcome_unknown = false;  // a write that may or may not have happened

  bool retryable_read() const;
};

const char* to_string(FlyError::Kind kind);

template <class T>
using FlyResult = Result<T, FlyError>;

// From a transport failure. is_write: whether the request changes state (decides
// outcome_unknown for timeouts and dropped connections after sending).
FlyError from_http_error(const net::HttpError& e, bool is_write);

// From a non-2xx response: status, Fly's JSON error body, fly-request-id, Retry-After.
// Without `now` only the delta-seconds form of Retry-After is understood; with it (the caller's
// Clock) an HTTP-date is turned into the time left until that date.
FlyError from_response(const net::Response& res);
FlyError from_response(const net::Response& res, TimePoint now);

// Retry-After: delta seconds (an HTTP-date is not parsed and gives nullopt).
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value);
// Retry-After in either form RFC 9110 allows: delta seconds, or an HTTP-date (IMF-fixdate, and
// the obsolete RFC 850 and asctime forms), measured from `now`. A date in the past gives 0.
// Capped at one hour like the delta form; anything else gives nullopt.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, TimePoint now);

// "404 not_found: machine not found (request id 01H...)"
std::string describe(const FlyError& e);

}  // namespace autoplacer::fly
