#include "backtest/decision_placer.h"

namespace autoplacer::backtest {

DecisionPlacer::DecisionPlacer(const PlacementPolicy& policy, const RegionCatalog& catalog,
                               std::optional<Duration> timeToServe)
    : policy_(&policy), catalog_(&catalog), time_to_serve_(timeToServe) {}

PlacerPass DecisionPlacer::pass(const DemandReading& demand, const FleetObservation& fleet,
                                TimePoint now) {
  DecisionInput in;
  in.policy = policy_;
  in.catalog = catalog_;
  in.fleet = fleet;
  in.demand = demand;
  in.now = now;
  in.measuredTimeToServe = time_to_serve_;
  Decision d = decide(in, state_);
  PlacerPass out;
  out.desired = std::move(d.desired);
  out.retire = d.retire;
  out.limited = d.limited;
  for (const auto& [code, rd] : d.regions) {
    out.regions[code] = PlacerPass::RegionView{rd.demandRps, rd.forecastRps, to_string(rd.reason)};
  }
  return out;
}

}  // namespace autoplacer::backtest
