#include "backtest/decision_placer.h"

namespace autoplacer::backtest {

DecisionPlacer::DecisionPlacer(const PlacementPolicy& policy, const RegionCatalog& catalog,
                               std::optional<Duration> timeToServe) {
  in_.policy = &policy;
  in_.catalog = &catalog;
  in_.measuredTimeToServe = timeToServe;
}

PlacerPass DecisionPlacer::pass(const DemandReading& demand, const FleetObservation& fleet,
                                TimePoint now) {
  in_.fleet = fleet;
  in_.demand = demand;
  in_.now = now;
  Decision d = decide(in_, state_);
  PlacerPass out;
  out.desired = {d.desired.begin(), d.desired.end()};
  out.retire = d.retire;
  out.limited = d.limited;
  for (const auto& [code, rd] : d.regions) {
    // Appended in key order: the hint makes each insert constant time.
    out.regions.emplace_hint(
        out.regions.end(), code,
        PlacerPass::RegionView{rd.demandRps, rd.forecastRps, to_string(rd.reason)});
  }
  return out;
}

}  // namespace autoplacer::backtest
