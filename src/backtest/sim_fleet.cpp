#include "backtest/sim_fleet.h"

#include <algorithm>

namespace autoplacer::backtest {

void SimulatedFleet::advance(TimePoint now) {
  if (started_ && now < now_) return;
  started_ = true;
  now_ = now;
  for (auto& [code, r] : regions_) {
    auto ready = std::upper_bound(r.pending.begin(), r.pending.end(), now_);
    r.running += static_cast<int>(ready - r.pending.begin());
    r.pending.erase(r.pending.begin(), ready);
  }
}

FleetObservation SimulatedFleet::observe() const {
  FleetObservation obs;
  obs.at = now_;
  for (const auto& [code, r] : regions_) {
    if (r.running == 0 && r.pending.empty() && r.stopped == 0 && r.suspended == 0) continue;
    RegionMachines m;
    m.running = r.running;
    m.starting = static_cast<int>(r.pending.size());
    m.stopped = r.stopped;
    m.suspended = r.suspended;
    obs.regions.emplace(code, m);
  }
  return obs;
}

void SimulatedFleet::apply(const std::map<std::string, int>& desired, RetireAction retire) {
  for (const auto& [code, want] : desired) regions_[code];  // regions to grow exist
  for (auto& [code, r] : regions_) {
    auto it = desired.find(code);
    const int want = it == desired.end() ? 0 : std::max(0, it->second);
    const int active = r.running + static_cast<int>(r.pending.size());
    if (want > active) grow(r, want - active);
    if (want < active) shrink(r, active - want, retire);
  }
}

void SimulatedFleet::grow(RegionState& r, int n) {
  auto boot = [&](Duration d) {
    TimePoint at = now_ + d;
    r.pending.insert(std::upper_bound(r.pending.begin(), r.pending.end(), at), at);
  };
  for (; n > 0 && r.stopped > 0; --n, --r.stopped, ++counters_.starts) boot(timings_.start);
  for (; n > 0 && r.suspended > 0; --n, --r.suspended, ++counters_.resumes) boot(timings_.resume);
  for (; n > 0; --n, ++counters_.creates) boot(timings_.create);
}

void SimulatedFleet::shrink(RegionState& r, int n, RetireAction retire) {
  auto retire_one = [&]() {
    switch (retire) {
      case RetireAction::kStop:
        ++r.stopped;
        ++counters_.stops;
        break;
      case RetireAction::kSuspend:
        ++r.suspended;
        ++counters_.suspends;
        break;
      case RetireAction::kDestroy:
        ++counters_.destroys;
        break;
    }
  };
  // The machines that would serve last go first.
  for (; n > 0 && !r.pending.empty(); --n) {
    r.pending.pop_back();
    retire_one();
  }
  for (; n > 0 && r.running > 0; --n) {
    --r.running;
    retire_one();
  }
}

int SimulatedFleet::serving(const std::string& region) const {
  auto it = regions_.find(region);
  return it == regions_.end() ? 0 : it->second.running;
}

}  // namespace autoplacer::backtest
