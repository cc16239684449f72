#pragma once
// Client side of the http_server fuzz target, shared with its corpus replay test: send raw
// bytes to a server on loopback, half-close, read everything back, and check that what came
// back is HTTP a client can frame.
#include <cstdint>
#include <string>
#include <string_view>

namespace autoplacer::fuzz {

// Connects to 127.0.0.1:port, writes `input`, shuts down its sending side and reads until the
// server closes. fuzz_fail()s when the server keeps the half-closed connection open 5 s.
std::string exchange_over_loopback(std::uint16_t port, std::string_view input);

// fuzz_fail()s unless `answers` is a sequence of HTTP answers to the requests in `input` (the
// last may be cut short), each starting where the previous ended; answers to HEAD have no body.
void check_http_answers(std::string_view input, const std::string& answers);

}  // namespace autoplacer::fuzz
