#pragma once
// The Prometheus HTTP API's query answers as plain values, and a pure parser for them. The same
// JSON comes from Prometheus, VictoriaMetrics and Fly's metrics endpoint:
//   {"status":"success","data":{"resultType":"vector","result":[{"metric":{...},"value":[t,"v"]}]}}
//   {"status":"error","errorType":"bad_data","error":"..."}
// Sample values are strings so that "NaN", "+Inf" and "-Inf" survive JSON; they are kept as
// doubles here (NaN/Inf included) and judged by the caller, because only the caller knows
// whether a NaN means "unknown" or "no requests".
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace autoplacer::metrics {

enum class PromResultType { kVector, kMatrix, kScalar, kString };
const char* to_string(PromResultType t);

struct PromPoint {
  TimePoint at{};
  double value = 0;  // may be NaN or +-Inf
};

// One series: its labels and its points (one for a vector or scalar, many for a matrix).
struct PromSeries {
  std::map<std::string, std::string> labels;
  std::vector<PromPoint> points;
};

struct PromQueryResult {
  PromResultType type = PromResultType::kVector;
  std::vector<PromSeries> series;  // a scalar is one series without labels
  std::vector<std::string> warnings;
};

// Why a query gave no usable answer. `kind` lets callers and metrics count failures by cause;
// `message` is for people and never contains the token.
struct PromError {
  enum class Kind {
    kTransport,   // could not connect, connection closed, TLS, name resolution
    kTimeout,     // the query did not answer within its time-out
    kHttpStatus,  // a non-2xx answer without a Prometheus error body (proxy page, 502...)
    kApi,         // Prometheus answered status "error" (bad PromQL, execution error, ...)
    kParse,       // the body is not a Prometheus API answer (not JSON, wrong shape)
    kResultType,  // a well-formed answer of the wrong kind (a matrix for an instant query)
    kTooLarge,    // the answer exceeded the size limit
    kCancelled,   // shutting down
  };
  Kind kind = Kind::kParse;
  std::string message;
};
const char* to_string(PromError::Kind kind);
// "timeout: query did not answer within 10s" -- the form used in DemandReading reasons.
std::string describe(const PromError& e);

using PromResult = Result<PromQueryResult, PromError>;

// Parses one answer of /api/v1/query or /api/v1/query_range. `http_status` is the HTTP status the
// body came with: Prometheus sends its error bodies with 400/422/503, so the body is read first and
// the status only decides what a body that is not a Prometheus answer means. Never throws.
PromResult parse_prometheus_response(std::string_view body, int http_status);

// Parses a sample value as Prometheus writes it: a decimal, "NaN", "+Inf", "-Inf" (also "Inf").
// Returns false for anything else.
bool parse_prom_value(std::string_view text, double& out);

// Formats a time for the `time`, `start` and `end` parameters: unix seconds with milliseconds,
// "1700000000.123".
std::string format_prom_time(TimePoint t);
// Formats a duration for `step` and `timeout`: seconds with milliseconds, "30" or "0.5".
std::string format_prom_seconds(Duration d);

}  // namespace autoplacer::metrics
