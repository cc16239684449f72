// Harness for common/duration.h: the duration syntax of policies and flags ("1h30m").
#include <cstring>
#include <limits>
#include <string>

#include "common/duration.h"
#include "harness.h"

namespace autoplacer::fuzz {

void duration(std::string_view data) {
  if (auto d = parse_duration(data)) {
    AP_FUZZ_CHECK(d->count() >= 0);
    // The shortest form reads back to the same value.
    const std::string text = format_duration(*d);
    const auto back = parse_duration(text);
    AP_FUZZ_CHECK(back.has_value() && *back == *d);
  }
  // Any value parse_duration can hold (it refuses more than INT64_MAX / 4 ms, some 73 million
  // years, so that callers can add durations without overflow) formats to something that reads
  // back.
  if (data.size() >= sizeof(std::int64_t)) {
    std::int64_t ms = 0;
    std::memcpy(&ms, data.data(), sizeof ms);
    if (ms >= 0 && ms <= std::numeric_limits<std::int64_t>::max() / 4) {
      const auto back = parse_duration(format_duration(Duration{ms}));
      AP_FUZZ_CHECK(back.has_value() && back->count() == ms);
    }
  }
}

}  // namespace autoplacer::fuzz
