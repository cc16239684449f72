#pragma once
// Time as the rest of the program sees it. Nothing outside this interface reads the wall clock,
// so tests and the simulator can run time at any speed.
#include <atomic>
#include <chrono>

#include "common/duration.h"

namespace autoplacer {

// Unix time in milliseconds. A policy's history and every decision are stamped with it.
using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;

inline TimePoint from_unix_seconds(double seconds) {
  return TimePoint{Duration{static_cast<std::int64_t>(seconds * 1000.0)}};
}
inline double to_unix_seconds(TimePoint t) {
  return static_cast<double>(t.time_since_epoch().count()) / 1000.0;
}

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  }
};

// A clock that only moves when told to: for tests and for replaying scenarios.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{}) : now_ms_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint{Duration{now_ms_.load()}}; }
  void set(TimePoint t) { now_ms_.store(t.time_since_epoch().count()); }
  void advance(Duration d) { now_ms_.fetch_add(d.count()); }

 private:
  std::atomic<std::int64_t> now_ms_;
};

}  // namespace autoplacer
