#pragma once
// PlacementPolicy v1alpha1: what the user declares. Every field has a default here, and the same
// default is documented in docs/policy.md. The parser (policy_loader.h) fills these structs and
// validates them; everything downstream (decision core, controller) reads them and nothing else.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/duration.h"

namespace autoplacer {

using namespace std::chrono_literals;

inline constexpr const char* kApiVersion = "autoplacer.fly.io/v1alpha1";
inline constexpr const char* kKind = "PlacementPolicy";

inline constexpr const char* kDefaultDemandQuery =
    "sum by (region) (rate(fly_edge_http_responses_count{app=\"$APP\"}[1m]))";
inline constexpr const char* kDefaultLatencyQuery =
    "histogram_quantile(0.95, sum by (le, region) "
    "(rate(fly_edge_http_response_time_seconds_bucket{app=\"$APP\"}[5m])))";

enum class Mode { kEnforce, kDryRun, kForecastOnly };
enum class Strategy { kLatency, kThreshold };
enum class RetireAction { kStop, kSuspend, kDestroy };
enum class ForecastModel { kNone, kEwma, kHoltWinters };
enum class MetricsUnavailableAction { kHold, kStatic };
enum class RatePolicyType { kMachines, kPercent };
enum class SelectPolicy { kMax, kMin, kDisabled };

struct ObjectMeta {
  std::string name;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

struct RegionsSpec {
  std::vector<std::string> allowed;   // hostable regions machines may run in; empty = all hostable
  std::vector<std::string> excluded;  // never run here, even if allowed
  std::vector<std::string> pinned;    // always at least max(1, minPerRegion) machines here
};

struct CapacitySpec {
  double targetPerMachine = 50;  // req/s one machine serves at its target utilisation
  int minPerRegion = 0;          // floor for every region in use (pinned: at least 1)
  int maxPerRegion = 5;
  int minTotal = 1;
  int maxTotal = 20;  // the budget: never more machines than this
};

struct TrafficSpec {
  std::string query = kDefaultDemandQuery;  // demand per origin region, req/s, `by (region)`
  std::string latencyQuery = kDefaultLatencyQuery;  // p95 seconds per origin; "" disables
  Duration interval = 30s;                          // regular reconcile pass
  Duration staleness = 2min;                        // a sample older than this is unknown
  Duration queryTimeout = 10s;
  Duration historyWindow = 48h;  // history kept and backfilled with query_range at start-up
  std::map<std::string, std::string> variables;  // $NAME expansions in queries ($APP is implicit)
};

struct ForecastSpec {
  ForecastModel model = ForecastModel::kHoltWinters;
  std::optional<Duration>
      horizon;               // nullopt = auto: the measured time a new machine takes to serve
  Duration bootTime = 20s;   // the time-to-serve estimate used until one is measured
  double shortAlpha = 0.3;   // short-term EWMA
  double longAlpha = 0.1;    // long-term EWMA
  Duration bandWindow = 1h;  // adaptive band: mean +/- bandK sigma over this window
  double bandK = 2.0;
  Duration seasonStep = 5min;  // resolution of the seasonal profile
  Duration season = 24h;       // daily season
  bool weekly = false;         // add a weekly season on top of the daily one
  double hwAlpha = 0.2;        // Holt-Winters level, trend and season smoothing
  double hwBeta = 0.01;
  double hwGamma = 0.1;
  double headroom = 0.1;  // capacity kept above the estimate, as a fraction
};

struct PlacementSpec {
  Strategy strategy = Strategy::kLatency;
  // How many ms of traffic-weighted mean RTT one machine-hour is worth: a region gets its own
  // machine only when the latency it saves its users is worth the machine.
  double costWeightMs = 20;
  double maxRttMs =
      0;  // 0 = no limit; else origins are not served from farther regions if avoidable
  // Partial regions: a region's last, mostly empty machine may be saved when a neighbour's spare
  // capacity takes the overflow for less RTT than the machine is worth. Fewer machine-hours, more
  // machine count changes (the overflow moves with demand); false sizes each region for all the
  // demand it serves.
  bool partialRegions = true;
  // strategy: threshold (the earlier prototype's algorithm); thresholds in requests per 5 minutes.
  double trafficThreshold = 50;
  double removeThreshold = 10;
  Duration thresholdCooldown = 10s;
};

struct RatePolicy {
  RatePolicyType type = RatePolicyType::kMachines;
  int value = 4;
  Duration period = 15s;
};

struct ScalingRules {
  Duration stabilizationWindow = 0s;
  SelectPolicy select = SelectPolicy::kMax;  // which rate policy wins when several apply
  std::vector<RatePolicy> policies;
};

struct BehaviorSpec {
  double tolerance = 0.1;  // no change while |1 - demand / capacity| <= tolerance
  ScalingRules scaleUp{0s,
                       SelectPolicy::kMax,
                       {{RatePolicyType::kMachines, 4, 15s}, {RatePolicyType::kPercent, 100, 15s}}};
  ScalingRules scaleDown{300s, SelectPolicy::kMax, {{RatePolicyType::kPercent, 100, 15s}}};
  Duration cooldownAfterAdd = 5min;      // a region just added is not removed before this
  Duration cooldownAfterRemove = 10min;  // a region just removed is not added back before this
  int maxCreatesPerPass = 5;             // bounds creation per pass (no endless create loop)
};

struct RetireSpec {
  RetireAction action = RetireAction::kStop;
  bool cordonFirst = true;  // cordon before retiring so Fly Proxy sends no new requests
  Duration stopTimeout = 30s;
  // Never destroy below this many machines a clone could be made from (host_status ok, config).
  int keepCloneSources = 1;
};

struct MetricsUnavailableSpec {
  MetricsUnavailableAction action = MetricsUnavailableAction::kHold;
  Duration after = 10min;  // for kStatic: how long metrics must be unknown before switching
  std::map<std::string, int> staticPlacement;  // region -> machines, for kStatic
};

struct FastPathSpec {
  bool enabled = true;
  Duration interval = 5s;  // how often demand is sampled between regular passes
  double spikeFactor =
      2.0;  // a region whose demand is this many times its last value triggers a pass
  double minDemand = 5.0;  // req/s below which jumps are ignored (noise)
};

struct PlacementPolicySpec {
  std::string app;
  std::string processGroup = "app";
  Mode mode = Mode::kEnforce;
  bool adoptExisting = false;  // also manage machines the controller did not create
  RegionsSpec regions;
  CapacitySpec capacity;
  TrafficSpec traffic;
  ForecastSpec forecast;
  PlacementSpec placement;
  BehaviorSpec behavior;
  RetireSpec retire;
  MetricsUnavailableSpec onMetricsUnavailable;
  FastPathSpec fastPath;
};

struct PlacementPolicy {
  std::string apiVersion = kApiVersion;
  std::string kind = kKind;
  ObjectMeta metadata;
  PlacementPolicySpec spec;
  // Where it was read from, for messages.
  std::string sourceFile;
  int sourceLine = 0;
  // A digest of the spec's content, so the controller can bump observedGeneration on real changes.
  std::uint64_t specHash = 0;
};

const char* to_string(Mode m);
const char* to_string(Strategy s);
const char* to_string(RetireAction a);
const char* to_string(ForecastModel m);
const char* to_string(MetricsUnavailableAction a);
const char* to_string(RatePolicyType t);
const char* to_string(SelectPolicy s);

// The names policies use for an enum's values ("dryRun", "holtWinters"), in declaration order;
// defined for every enum above. from_string is exact (case-sensitive) and nullopt otherwise.
template <class E>
std::vector<std::string_view> enum_names();
template <class E>
std::optional<E> from_string(std::string_view name);

// Every field of a spec, one `path=value` line each, defaults included and region lists sorted,
// so two specs that mean the same thing have the same text. spec_hash is FNV-1a 64 of it: the
// controller compares hashes to tell a real change (bump observedGeneration) from a rewrite.
std::string canonical_text(const PlacementPolicySpec& spec);
std::uint64_t spec_hash(const PlacementPolicySpec& spec);

}  // namespace autoplacer
