#pragma once
// The decision core as a backtest placer: each pass calls decide() with the scenario's demand and
// the simulated fleet, keeping DecisionState across passes exactly as the controller does.
#include <optional>

#include "backtest/backtest.h"
#include "policy/decision.h"
#include "policy/decision_state.h"

namespace autoplacer::backtest {

class DecisionPlacer final : public Placer {
 public:
  // `policy` and `catalog` must outlive the placer. `timeToServe`: what the controller would
  // have measured (the simulated create delay); nullopt leaves the policy's horizon in charge.
  DecisionPlacer(const PlacementPolicy& policy, const RegionCatalog& catalog,
                 std::optional<Duration> timeToServe);

  PlacerPass pass(const DemandReading& demand, const FleetObservation& fleet,
                  TimePoint now) override;

  const DecisionState& state() const { return state_; }

 private:
  // Kept across passes: copy-assigning a pass's observations into it reuses its map nodes, where
  // a fresh DecisionInput allocated every node again.
  DecisionInput in_;
  DecisionState state_;
};

}  // namespace autoplacer::backtest
