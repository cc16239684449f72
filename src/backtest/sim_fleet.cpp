#include "backtest/sim_fleet.h"

#include <algorithm>

namespace autoplacer::backtest {

SimulatedFleet::SimulatedFleet(FleetTimings timings, std::vector<std::string> regions)
    : timings_(timings), codes_(std::move(regions)), states_(codes_.size()) {}

void SimulatedFleet::advance(TimePoint now) {
  if (started_ && now < now_) return;
  started_ = true;
  now_ = now;
  if (booting_ == 0) return;  // the common case between passes: nothing to bring up
  for (RegionState& r : states_) {
    auto ready = std::upper_bound(r.pending.begin(), r.pending.end(), now_);
    const int n = static_cast<int>(ready - r.pending.begin());
    if (n == 0) continue;
    ++version_;
    r.running += n;
    booting_ -= static_cast<std::size_t>(n);
    r.pending.erase(r.pending.begin(), ready);
  }
}

FleetObservation SimulatedFleet::observe() const {
  FleetObservation obs;
  observe_into(obs);
  return obs;
}

void SimulatedFleet::observe_into(FleetObservation& out) const {
  out.at = now_;
  // Merge the sorted region list into the (sorted) map: update in place, erase regions that
  // emptied, insert those that filled, so unchanged regions cost no allocation.
  auto it = out.regions.begin();
  for (std::size_t i = 0; i < codes_.size(); ++i) {
    while (it != out.regions.end() && it->first < codes_[i]) it = out.regions.erase(it);
    const bool listed = it != out.regions.end() && it->first == codes_[i];
    const RegionState& r = states_[i];
    if (r.empty()) {
      if (listed) it = out.regions.erase(it);
      continue;
    }
    if (!listed) it = out.regions.emplace_hint(it, codes_[i], RegionMachines{});
    RegionMachines& m = it->second;
    m = RegionMachines{};
    m.running = r.running;
    m.starting = static_cast<int>(r.pending.size());
    m.stopped = r.stopped;
    m.suspended = r.suspended;
    ++it;
  }
  out.regions.erase(it, out.regions.end());
}

std::size_t SimulatedFleet::region_index(const std::string& code) const {
  auto it = std::lower_bound(codes_.begin(), codes_.end(), code);
  if (it == codes_.end() || *it != code) return codes_.size();
  return static_cast<std::size_t>(it - codes_.begin());
}

std::size_t SimulatedFleet::find_or_add(const std::string& code) {
  auto it = std::lower_bound(codes_.begin(), codes_.end(), code);
  const auto i = static_cast<std::size_t>(it - codes_.begin());
  if (it == codes_.end() || *it != code) {
    codes_.insert(it, code);
    states_.insert(states_.begin() + static_cast<std::ptrdiff_t>(i), RegionState{});
    ++version_;
  }
  return i;
}

void SimulatedFleet::apply(const std::map<std::string, int>& desired, RetireAction retire) {
  // Both sequences are sorted by code: one merge walk gives each region its wanted count (absent
  // = 0) without a lookup per region. A code not listed yet is added where it sorts.
  auto want = desired.begin();
  for (std::size_t i = 0; i < codes_.size() || want != desired.end(); ++i) {
    if (want != desired.end() && (i == codes_.size() || want->first < codes_[i]))
      i = find_or_add(want->first);
    int n = 0;
    if (want != desired.end() && want->first == codes_[i]) {
      n = std::max(0, want->second);
      ++want;
    }
    move_toward(states_[i], n, retire);
  }
}

void SimulatedFleet::move_toward(RegionState& r, int want, RetireAction retire) {
  const int active = r.running + static_cast<int>(r.pending.size());
  if (want != active) ++version_;
  if (want > active) grow(r, want - active);
  if (want < active) shrink(r, active - want, retire);
}

void SimulatedFleet::grow(RegionState& r, int n) {
  auto boot = [&](Duration d) {
    TimePoint at = now_ + d;
    r.pending.insert(std::upper_bound(r.pending.begin(), r.pending.end(), at), at);
    ++booting_;
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
    --booting_;
    retire_one();
  }
  for (; n > 0 && r.running > 0; --n) {
    --r.running;
    retire_one();
  }
}

int SimulatedFleet::serving(const std::string& region) const {
  const std::size_t i = region_index(region);
  return i == codes_.size() ? 0 : states_[i].running;
}

}  // namespace autoplacer::backtest
