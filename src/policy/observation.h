#pragma once
// What the shell observes and hands to the pure decision core: demand by origin region (from the
// traffic source) and machines by region (from the Machines API). Plain values, no I/O.
#include <map>
#include <string>

#include "common/clock.h"

namespace autoplacer {

// Demand by origin region, read at one moment. Unknown is not zero: a region listed in `unknown`
// (or every region, when `known` is false) must hold its placement.
struct DemandReading {
  TimePoint at{};
  bool known = false;  // false: the whole read failed or was empty; `reason` says why
  std::string reason;  // why the read is unknown, e.g. "query failed: timeout"
  std::map<std::string, double> rps;           // origin region -> req/s (known regions only;
                                               // a region absent from a known read is 0)
  std::map<std::string, std::string> unknown;  // origin region -> why its value is unknown
  std::map<std::string, double> p95LatencyMs;  // observed edge p95 per origin, when available
};

// Machines of the policy's app and process group in one hostable region, by state.
struct RegionMachines {
  int running = 0;    // started and serving
  int starting = 0;   // created/starting: will serve soon
  int stopped = 0;    // can be started in well under a second
  int suspended = 0;  // can be resumed quickly
  int other = 0;      // transient or failed states; not counted as capacity
  int serving() const { return running; }
  int active() const { return running + starting; }
};

struct FleetObservation {
  TimePoint at{};
  std::map<std::string, RegionMachines> regions;  // hostable region -> machines
};

}  // namespace autoplacer
