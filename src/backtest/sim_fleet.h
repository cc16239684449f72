#pragma once
// A fleet of machines in simulated time, for backtests: machines take time to serve after they
// are created (seconds) or started from stopped / resumed from suspended (well under one), and
// retired machines are stopped, suspended or destroyed as the policy says. No I/O; time only moves
// when advance() is called.
#include <map>
#include <string>
#include <vector>

#include "common/clock.h"
#include "policy/observation.h"
#include "policy/spec.h"

namespace autoplacer::backtest {

struct FleetTimings {
  Duration create{20'000};  // from create to serving (image pull, boot, health check)
  Duration start{300};      // from stopped to serving
  Duration resume{200};     // from suspended to serving
};

struct FleetCounters {
  int creates = 0;
  int starts = 0;    // stopped -> starting
  int resumes = 0;   // suspended -> starting
  int stops = 0;     // retired by stopping
  int suspends = 0;  // retired by suspending
  int destroys = 0;  // retired by destroying
};

class SimulatedFleet {
 public:
  explicit SimulatedFleet(FleetTimings timings) : timings_(timings) {}

  // Machines whose boot is over by `now` begin to serve. Time never goes back.
  void advance(TimePoint now);

  // What the Machines API would list at the current time.
  FleetObservation observe() const;

  // Moves every region toward `desired` (absent = 0) at the current time: starts or resumes
  // retired machines before creating new ones; retires surplus machines that are not serving yet
  // before serving ones, with `retire`.
  void apply(const std::map<std::string, int>& desired, RetireAction retire);

  // Machines serving in `region` at the current time.
  int serving(const std::string& region) const;
  const FleetCounters& counters() const { return counters_; }
  TimePoint now() const { return now_; }

 private:
  struct RegionState {
    int running = 0;
    int stopped = 0;
    int suspended = 0;
    std::vector<TimePoint> pending;  // machines booting: when each begins to serve, sorted
  };
  void grow(RegionState& r, int n);
  void shrink(RegionState& r, int n, RetireAction retire);

  FleetTimings timings_;
  TimePoint now_{};
  bool started_ = false;
  std::map<std::string, RegionState> regions_;
  FleetCounters counters_;
};

}  // namespace autoplacer::backtest
