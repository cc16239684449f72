#pragma once
// Placements the backtest compares the policy with. `static`: what one would deploy by hand, a
// fixed fleet in every region the scenario's origins map to, sized for each origin's peak.
// `oracle`: perfect foresight and zero boot delay, every origin at its nearest usable region,
// sized exactly, with no damping. Both are pure functions of the scenario and the policy.
#include <map>
#include <string>
#include <vector>

#include "policy/regions.h"
#include "policy/spec.h"
#include "sim/scenario.h"

namespace autoplacer::backtest {

// Hostable regions the policy may place machines in: `allowed` (empty = every hostable region)
// minus `excluded`, sorted. Codes the catalog does not host are dropped.
std::vector<std::string> usable_regions(const PlacementPolicy& policy,
                                        const RegionCatalog& catalog);

// The usable region nearest to `origin` (RegionCatalog::rtt_ms); "" when none is usable.
std::string nearest_usable(const std::string& origin, const std::vector<std::string>& usable,
                           const RegionCatalog& catalog);

// Static baseline: for each origin, its nearest usable region gets ceil(sum of the peaks of the
// origins it is nearest to / targetPerMachine) machines; pinned regions at least
// max(1, minPerRegion). Constant over the whole scenario.
std::map<std::string, int> static_placement(const sim::Scenario& scenario,
                                            const PlacementPolicy& policy,
                                            const RegionCatalog& catalog);

// Oracle: places for this step's demand (which it knows before the step begins). Origins, largest
// first, fill their nearest usable regions up to maxPerRegion machines' worth of capacity; each
// region then gets ceil(assigned / targetPerMachine) machines, at least minPerRegion when used
// and at least max(1, minPerRegion) when pinned.
class OraclePlacer {
 public:
  OraclePlacer(const std::vector<std::string>& origins, const PlacementPolicy& policy,
               const RegionCatalog& catalog);
  // `demand` in origin order.
  std::map<std::string, int> place(const std::vector<double>& demand) const;
  // The same as machines per usable region (index into usable()), 0 where none: the replay
  // records it by column index without building a map each step. `machines` is resized.
  void place_dense(const std::vector<double>& demand, std::vector<int>& machines) const;
  const std::vector<std::string>& usable() const { return usable_; }

 private:
  std::vector<std::string> usable_;
  std::vector<std::vector<std::size_t>> by_distance_;  // per origin: usable indexes, nearest first
  std::vector<bool> pinned_;                           // per usable region
  double target_ = 1;
  int min_per_region_ = 0;
  int max_per_region_ = 0;
};

}  // namespace autoplacer::backtest
