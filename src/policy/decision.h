#pragma once
// The contract of the pure decision core: observations, history and policy in; desired placement
// with a reason per region out. No I/O, no clock reads, no globals: the same inputs always give
// the same output, so every rule is table-testable. The controller and the backtest both call
// decide(); nothing else decides placement.
#include <boost/container/flat_map.hpp>
#include <boost/json/fwd.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "policy/observation.h"
#include "policy/regions.h"
#include "policy/spec.h"

namespace autoplacer {

enum class Direction { kNone, kUp, kDown };
const char* to_string(Direction d);

// Why a region's desired count is what it is. Stable codes (used as a metric label and in
// /status); `message` is the human sentence, in the spirit of the prototype's `skipped` list:
// "demand 36.6 req/s is within tolerance of capacity 50 (2 machines)".
enum class ReasonCode {
  kDemand,             // sized to serve (forecast) demand
  kForecast,           // raised ahead of a forecast rise
  kWithinTolerance,    // change smaller than the tolerance dead band
  kStabilizing,        // held by a scale-up/scale-down stabilisation window
  kRateLimited,        // capped by a rate policy
  kCooldown,           // held by a per-region cooldown after add/remove
  kPinned,             // pinned region: never below max(1, minPerRegion)
  kMinimum,            // raised to minPerRegion / minTotal
  kBudget,             // capped by maxPerRegion / maxTotal
  kLatencyNotWorthIt,  // demand is served from a nearby region; a machine here is not worth it
  kUnknownDemand,      // demand unknown: placement held
  kStaticFallback,     // metrics unknown too long: onMetricsUnavailable.staticPlacement
  kThresholdBelow,     // threshold strategy: traffic does not meet the adaptive thresholds
  kThresholdDeploy,    // threshold strategy: short average above threshold and long average
  kThresholdRemove,    // threshold strategy: short average at most removeThreshold and falling
  kNotAllowed,         // excluded or not in allowed: desired 0
  kNoDemand,           // no demand near this region
};
const char* to_string(ReasonCode r);

struct RegionDecision {
  int current = 0;         // active machines observed (running + starting)
  int desired = 0;         // after every rule below
  int proposed = 0;        // what demand alone asked for, before damping and bounds
  double demandRps = 0;    // observed demand of origins this region serves (0 if unknown)
  double forecastRps = 0;  // demand the region is sized for (forecast at the horizon, if higher)
  Direction direction = Direction::kNone;
  ReasonCode reason = ReasonCode::kDemand;
  std::string message;
};

// Region code -> T, sorted by code. A sorted vector rather than a std::map: decide() builds one
// per pass in code order (no node per region to allocate and free), and callers only look up and
// iterate.
template <class T>
using RegionMap = boost::container::flat_map<std::string, T>;

struct Decision {
  TimePoint at{};
  RegionMap<int> desired;                     // hostable region -> machines (all > 0)
  RegionMap<RegionDecision> regions;          // every region with current or desired > 0, or with
                                              // demand
  RetireAction retire = RetireAction::kStop;  // how surplus machines retire
  bool heldAll = false;                       // demand unknown everywhere: nothing changed
  std::string heldReason;
  bool limited = false;                     // a bound or rate policy capped the result
  std::vector<std::string> limitedBy;       // e.g. "maxTotal", "scaleUp rate policy"
  double expectedMeanRttMs = 0;             // traffic-weighted RTT of `desired`
  std::vector<std::string> ignoredOrigins;  // origins with demand the catalog lacks
};

// Everything decide() remembers between passes: demand history and model state per origin,
// recommendations for stabilisation windows, per-region cooldowns, scale events for rate
// policies. Bounded in size (docs/decision-core.md); saved by the controller as JSON so a restart
// forgets no cooldown.
struct DecisionState;  // defined in decision_state.h

struct DecisionInput {
  const PlacementPolicy* policy = nullptr;
  const RegionCatalog* catalog = nullptr;
  FleetObservation fleet;
  DemandReading demand;
  TimePoint now{};
  // Time a new machine takes to serve, as measured by the controller; nullopt = the policy's
  // forecast.horizon or bootTime.
  std::optional<Duration> measuredTimeToServe;
};

// The core. `state` is read and updated (history appended, windows and cooldowns advanced); it is
// the caller's to persist. Deterministic in (input, state).
Decision decide(const DecisionInput& input, DecisionState& state);

// Adds the observation to history without deciding (warm start from backfill, forecastOnly).
void observe(const PlacementPolicy& policy, const DemandReading& demand, DecisionState& state);

}  // namespace autoplacer
