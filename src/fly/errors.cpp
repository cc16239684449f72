#include "fly/errors.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>

#include "net/http_date.h"

namespace autoplacer::fly {

bool FlyError::retryable_read() const {
  switch (kind) {
    case Kind::kTransport:
    case Kind::kTimeout:
    case Kind::kRateLimited:
    case Kind::kServer:
      return true;
    default:
      return false;
  }
}

const char* to_string(FlyError::Kind kind) {
  using K = FlyError::Kind;
  switch (kind) {
    case K::kTransport:
      return "transport";
    case K::kTimeout:
      return "timeout";
    case K::kBadRequest:
      return "bad_request";
    case K::kUnauthorized:
      return "unauthorized";
    case K::kNotFound:
      return "not_found";
    case K::kWaitTimeout:
      return "wait_timeout";
    case K::kConflict:
      return "conflict";
    case K::kPrecondition:
      return "precondition_failed";
    case K::kUnprocessable:
      return "unprocessable";
    case K::kRateLimited:
      return "rate_limited";
    case K::kServer:
      return "server_error";
    case K::kInsufficientCapacity:
      return "insufficient_capacity";
    case K::kBadResponse:
      return "bad_response";
    case K::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

FlyError from_http_error(const net::HttpError& e, bool is_write) {
  using HK = net::HttpError::Kind;
  FlyError out;
  out.message = e.message;
  switch (e.kind) {
    case HK::kResolve:
    case HK::kConnect:
    case HK::kTls:
      out.kind = FlyError::Kind::kTransport;  // nothing was sent
      break;
    case HK::kTimeout:
      out.kind = FlyError::Kind::kTimeout;
      out.outcome_unknown = is_write;
      break;
    case HK::kClosed:
    case HK::kProtocol:
      out.kind = FlyError::Kind::kTransport;
      out.outcome_unknown = is_write;
      break;
    case HK::kBodyTooLarge:
      out.kind = FlyError::Kind::kBadResponse;
      out.outcome_unknown = is_write;  // the server answered; we could not read how
      break;
    case HK::kCancelled:
      out.kind = FlyError::Kind::kCancelled;
      out.outcome_unknown = is_write;
      break;
  }
  return out;
}

namespace {

constexpr long long kMaxRetryAfterSeconds = 3600;  // a hostile value must not park us for days

std::string_view trimmed(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return value;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value) {
  value = trimmed(value);
  if (value.empty()) return std::nullopt;
  long long seconds = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc{} || ptr != value.data() + value.size() || seconds < 0) return std::nullopt;
  return std::chrono::milliseconds(std::min(seconds, kMaxRetryAfterSeconds) * 1000);
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, TimePoint now) {
  if (auto delta = parse_retry_after(value)) return delta;
  const auto date = net::parse_http_date(value);
  if (!date) return std::nullopt;
  if (*date <= now) return std::chrono::milliseconds(0);
  return std::min<std::chrono::milliseconds>(*date - now,
                                             std::chrono::seconds(kMaxRetryAfterSeconds));
}

namespace {

FlyError error_from_response(const net::Response& res, std::optional<TimePoint> now) {
  FlyError out;
  out.http_status = static_cast<int>(res.result_int());
  if (auto it = res.find("fly-request-id"); it != res.end())
    out.request_id = std::string(it->value());
  if (auto it = res.find(net::http::field::retry_after); it != res.end()) {
    out.retry_after = now ? parse_retry_after(it->value(), *now) : parse_retry_after(it->value());
  }
  boost::system::error_code ec;
  const boost::json::value body = boost::json::parse(res.body(), ec);
  if (!ec && body.is_object()) {
    const auto& obj = body.get_object();
    if (const auto* e = obj.if_contains("error"); e && e->is_string()) {
      out.message = std::string(e->get_string());
    }
    if (const auto* s = obj.if_contains("status"); s && s->is_string()) {
      out.fly_status = std::string(s->get_string());
    }
  }
  // A hostile or broken server must not make us log megabytes.
  constexpr std::size_t kMaxMessage = 1000;
  if (out.message.size() > kMaxMessage) out.message.resize(kMaxMessage);
  if (out.fly_status.size() > kMaxMessage) out.fly_status.resize(kMaxMessage);
  if (out.message.empty()) {
    constexpr std::size_t kMaxEcho = 200;
    out.message = res.body().substr(0, kMaxEcho);
    if (out.message.empty()) out.message = std::string(res.reason());
  }
  const int s = out.http_status;
  using K = FlyError::Kind;
  if (out.fly_status == "insufficient_capacity" || out.fly_status == "volume_placement_capacity") {
    out.kind = K::kInsufficientCapacity;
  } else if (s == 400) {
    out.kind = K::kBadRequest;
  } else if (s == 401 || s == 403) {
    out.kind = K::kUnauthorized;
  } else if (s == 404) {
    out.kind = K::kNotFound;
  } else if (s == 408) {
    out.kind = K::kWaitTimeout;
  } else if (s == 409) {
    out.kind = K::kConflict;
  } else if (s == 412) {
    out.kind = K::kPrecondition;
  } else if (s == 422) {
    out.kind = K::kUnprocessable;
  } else if (s == 429) {
    out.kind = K::kRateLimited;
  } else if (s >= 500) {
    out.kind = K::kServer;
  } else {
    out.kind = K::kBadResponse;
  }
  return out;
}

}  // namespace

FlyError from_response(const net::Response& res) {
  return error_from_response(res, std::nullopt);
}

FlyError from_response(const net::Response& res, TimePoint now) {
  return error_from_response(res, now);
}

std::string describe(const FlyError& e) {
  std::string out = to_string(e.kind);
  if (e.http_status != 0) out = std::to_string(e.http_status) + " " + out;
  if (!e.fly_status.empty()) out += " (" + e.fly_status + ")";
  out += ": " + e.message;
  if (e.outcome_unknown) out += " [outcome unknown]";
  if (!e.request_id.empty()) out += " (request id " + e.request_id + ")";
  return out;
}

}  // namespace autoplacer::fly
