#pragma once
// Durations as users write them in policies and flags: "500ms", "30s", "5m", "1h30m", "7d".
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace autoplacer {

using Duration = std::chrono::milliseconds;

// Parses a non-negative duration made of one or more <number><unit> parts, units ms, s, m, h, d.
// A bare "0" is accepted. Returns nullopt for anything else (empty, negative, unknown unit,
// overflow), so the caller can report the position of the bad value.
std::optional<Duration> parse_duration(std::string_view text);

// The shortest form parse_duration() reads back to the same value: "1h30m", "250ms", "0s".
std::string format_duration(Duration d);

}  // namespace autoplacer
