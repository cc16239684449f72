#pragma once
// Fuzz harnesses: one function per parser, fed arbitrary bytes. The libFuzzer targets in fuzz/
// call them, and so does the normal test suite (tests/fuzz_regressions), which replays every
// committed corpus file and every crash ever found through the same code under gcc.
//
// A harness returns normally for any input. Besides "no crash, no sanitizer report", each checks
// properties the parser promises (an error value for bad input, round trips, bounds); a broken
// property aborts through fuzz_fail() so libFuzzer records the input as a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace autoplacer::fuzz {

[[noreturn]] void fuzz_fail(const char* file, int line, const char* what);

#define AP_FUZZ_CHECK(cond)                                                \
  do {                                                                     \
    if (!(cond)) ::autoplacer::fuzz::fuzz_fail(__FILE__, __LINE__, #cond); \
  } while (false)

// Prometheus /api/v1/query answer. Byte 0 picks the HTTP status, the rest is the body.
void prometheus_response(std::string_view data);
// Machines API answers: every body parser of fly/models.h, plus fly/errors.h's from_response
// (byte 0 picks the status, the first line is the Retry-After value).
void machines_api(std::string_view data);
// etcd grpc-gateway answers: every decoder of controller/etcd_codec.h, and base64.
void etcd_codec(std::string_view data);
// Scenario CSV (sim/scenario.h).
void scenario_csv(std::string_view data);
// Raw bytes from a client, parsed as the HTTP server does (same limits) and dispatched through
// a Router. No sockets: see http_server_fuzz.cpp for the same over a real loopback server.
void http_request(std::string_view data);
// Durations as policies and flags write them (common/duration.h), with round trips.
void duration(std::string_view data);
// PlacementPolicy YAML (policy/policy_loader.h): diagnostics well formed, accepted policies valid.
void policy_yaml(std::string_view data);
// The decision core (policy/decision.h): a policy and a run of passes built from the bytes.
void decision(std::string_view data);

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace autoplacer::fuzz
