#pragma once
// Everything decide() remembers between passes. Bounded: per origin a SampleRing (64 samples) and
// a DemandModel (at most 288 daily + 168 weekly buckets); per region at most kMaxEntries
// recommendations and scale events. About 4 KB of JSON per origin at the defaults, under 256 KB for
// 35 regions (checked by a test). The controller persists it with to_json /
// decision_state_from_json; a restored state decides exactly like the original (values are kept on
// a 1e-4 grid and stored as integers).
#include <boost/json/fwd.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/forecast.h"

namespace autoplacer {

class RegionCatalog;

struct OriginState {
  SampleRing history;
  DemandModel model;
  std::int64_t lastAtMs = -1;  // newest sample fed (a repeated read is not fed twice)
};

struct TimedCount {
  std::int64_t atMs = 0;
  int value = 0;
};

struct RegionState {
  static constexpr std::size_t kMaxEntries = 64;
  // Recommendations (after tolerance) for the stabilisation windows, oldest first.
  std::vector<TimedCount> recommendations;
  // Scale events for the rate policies: +n added, -n removed, oldest first.
  std::vector<TimedCount> events;
  std::optional<std::int64_t> addedAtMs;    // last time the region went from 0 to >0 machines
  std::optional<std::int64_t> removedAtMs;  // last time it went to 0
  std::optional<std::int64_t> thresholdActionAtMs;  // threshold strategy's per-region cooldown
  bool empty() const {
    return recommendations.empty() && events.empty() && !addedAtMs && !removedAtMs &&
           !thresholdActionAtMs;
  }
};

// Buffers decide() reuses from pass to pass instead of allocating them every pass (defined in
// decision.cpp). Capacity only: every pass overwrites what it reads, so they never change a
// result. A copy starts empty, so two states never share buffers.
struct DecideScratch;
class ScratchSlot {
 public:
  ScratchSlot();
  ScratchSlot(const ScratchSlot&);
  ScratchSlot(ScratchSlot&&) noexcept;
  ScratchSlot& operator=(const ScratchSlot&);
  ScratchSlot& operator=(ScratchSlot&&) noexcept;
  ~ScratchSlot();
  DecideScratch& get();

 private:
  std::unique_ptr<DecideScratch> p_;
};

// Derived data that is expensive to compute and identical from pass to pass (the RTT matrix of
// the catalog). Not persisted, never changes a result: rebuilt whenever the catalog changes.
struct RttCache {
  const RegionCatalog* catalog = nullptr;
  std::uint64_t revision = 0;
  std::map<std::string, int, std::less<>> index;  // region code -> row
  std::vector<double> matrix;                     // n x n model/measured RTT, ms
  std::vector<int> nearest;  // n x n: per row, every row by RTT, nearest first (ties by row)
  std::vector<std::string> codes;
  // For the candidate set of the last pass (rows of the allowed hostable regions, in order), what
  // every pass with the same set would rebuild: the H x H candidate-to-candidate RTTs, each row's
  // RTT to every candidate (n x H), each row's candidates nearest first (n x H, ties by candidate
  // index), and row -> candidate index.
  std::vector<int> candRows;
  std::vector<double> candRtt;
  std::vector<double> candRowRtt;
  std::vector<int> candOrder;
  std::vector<double> candOrderedRtt;  // n x H: candRowRtt of each row in candOrder's order
  std::vector<int> candOfRow;
  bool candRowRttOrdered = false;    // no NaN in candRowRtt: candOrder is a total order of it
  std::uint64_t candGeneration = 0;  // bumped whenever the candidate tables are rebuilt
  // Row of each of the catalog's hostable codes (in hostable_codes() order), -1 if none, and every
  // row in order of its code: lookups by a forward walk over a flat array, not the map.
  std::vector<int> hostableRows;
  std::vector<int> rowsByCode;
  ScratchSlot scratch;
};

struct DecisionState {
  static constexpr std::size_t kMaxOrigins = 128;

  std::map<std::string, OriginState> origins;
  std::map<std::string, RegionState> regions;
  std::optional<std::int64_t> unknownSinceMs;  // start of the current all-unknown streak
  std::int64_t lastDecisionMs = -1;

  RttCache cache;  // transient, see RttCache
};

boost::json::value to_json(const DecisionState& state);
// Fails with a message on a malformed document; never throws.
Result<DecisionState, std::string> decision_state_from_json(const boost::json::value& json);

// Size of the serialised state, bytes (for the 256 KB bound and /status).
std::size_t serialized_size(const DecisionState& state);

}  // namespace autoplacer
