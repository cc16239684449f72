#pragma once
// A fleet of machines in simulated time, for backtests: machines take time to serve after they
// are created (seconds) or started from stopped / resumed from suspended (well under one), and
// retired machines are stopped, suspended or destroyed as the policy says. No I/O; time only moves
// when advance() is called.
//
// Regions are kept in a vector sorted by code, so the replay loop can address them by index (the
// timeline's column index when the fleet is built with the timeline's regions) instead of
// looking strings up in a map at every pass and step.
#include <cstddef>
#include <cstdint>
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
  // `regions`: sorted, distinct codes known up front; index i of region_index() is regions[i].
  // Other codes are still accepted by apply() (they are added, which shifts later indexes).
  SimulatedFleet(FleetTimings timings, std::vector<std::string> regions);

  // Machines whose boot is over by `now` begin to serve. Time never goes back.
  void advance(TimePoint now);

  // What the Machines API would list at the current time.
  FleetObservation observe() const;
  // The same into `out`, reusing its map nodes: the set of regions with machines rarely changes
  // from one pass to the next, so most passes allocate nothing.
  void observe_into(FleetObservation& out) const;

  // Moves every region toward `desired` (absent = 0) at the current time: starts or resumes
  // retired machines before creating new ones; retires surplus machines that are not serving yet
  // before serving ones, with `retire`.
  void apply(const std::map<std::string, int>& desired, RetireAction retire);

  // Machines serving in `region` at the current time.
  int serving(const std::string& region) const;
  // The same by index into the sorted region list (see the constructor).
  int serving(std::size_t index) const { return states_[index].running; }
  std::size_t region_index(const std::string& code) const;  // size() if absent
  std::size_t size() const { return codes_.size(); }        // regions listed so far

  const FleetCounters& counters() const { return counters_; }
  TimePoint now() const { return now_; }
  // Bumped whenever a region's machines change (not when only time passes): an observation taken
  // at the same version lists the same machines.
  std::uint64_t version() const { return version_; }

 private:
  struct RegionState {
    int running = 0;
    int stopped = 0;
    int suspended = 0;
    std::vector<TimePoint> pending;  // machines booting: when each begins to serve, sorted
    bool empty() const { return running == 0 && pending.empty() && stopped == 0 && suspended == 0; }
  };
  std::size_t find_or_add(const std::string& code);
  void move_toward(RegionState& r, int want, RetireAction retire);
  void grow(RegionState& r, int n);
  void shrink(RegionState& r, int n, RetireAction retire);

  FleetTimings timings_;
  TimePoint now_{};
  bool started_ = false;
  std::vector<std::string> codes_;   // sorted
  std::vector<RegionState> states_;  // parallel to codes_
  std::size_t booting_ = 0;          // machines pending in all regions: advance() skips if none
  std::uint64_t version_ = 0;
  FleetCounters counters_;
};

}  // namespace autoplacer::backtest
