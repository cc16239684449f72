// One decision for a 35-region policy (issue 5 target: under 50 microseconds). Every region of a
// 35-region catalog is hostable and sends traffic; the policy uses strategy latency with
// Holt-Winters forecasting and the default damping. Each iteration is the next 30 s pass (time
// advances, the sample is fed to history and models, the fleet follows the previous decision), as
// the controller runs it.
#include <benchmark/benchmark.h>

#include <random>

#include "policy/decision.h"
#include "policy/decision_state.h"
#include "policy/placement.h"

namespace autoplacer {
namespace {

RegionCatalog catalog35() {
  std::vector<Region> regions = RegionCatalog::builtin().regions();
  for (Region& r : regions) r.hostable = true;
  regions.push_back({"hel", "Helsinki, Finland", 60.32, 24.96, true, false});
  return RegionCatalog(regions);
}

PlacementPolicy policy35(Strategy strategy) {
  PlacementPolicy p;
  p.spec.app = "bench";
  p.spec.capacity.maxPerRegion = 10;
  p.spec.capacity.maxTotal = 200;
  p.spec.placement.strategy = strategy;
  p.spec.placement.costWeightMs = 2;
  return p;
}

struct Setup {
  RegionCatalog catalog = catalog35();
  PlacementPolicy policy;
  DecisionState state;
  DecisionInput in;
  std::mt19937_64 rng{42};
  std::map<std::string, double> base;
  // Demand reads are made ahead (a day's worth at a time, outside the timing), so that the
  // benchmark times the decision rather than building its input.
  std::vector<DemandReading> reads;
  std::size_t next_read = 0;

  // origins: how many regions send traffic (35 = all, the worst case; 10 = like the NASA trace).
  explicit Setup(Strategy s, std::size_t origins = 35) : policy(policy35(s)) {
    in.policy = &policy;
    in.catalog = &catalog;
    in.now = from_unix_seconds(1'700'000'000);
    std::lognormal_distribution<double> size(3.5, 1.0);
    for (const Region& r : catalog.regions()) {
      if (base.size() < origins) base[r.code] = size(rng);
    }
    // A day of history so that Holt-Winters is warm.
    for (int i = 0; i < 24 * 120; ++i) next();
  }
  bool need_reads() const { return next_read >= reads.size(); }
  void make_reads() {
    reads.assign(24 * 120, DemandReading{});
    std::uniform_real_distribution<double> noise(0.9, 1.1);
    for (DemandReading& r : reads) {
      r.known = true;
      for (const auto& [code, v] : base) r.rps[code] = v * noise(rng);
    }
    next_read = 0;
  }
  Decision next() {
    if (need_reads()) make_reads();
    in.now += std::chrono::seconds(30);
    in.demand = std::move(reads[next_read++]);
    in.demand.at = in.now;
    Decision d = decide(in, state);
    // The fleet follows the decision (entries at 0 are as good as absent): one merge of the two
    // sorted maps, so that the harness's own work stays small beside the decision it times.
    auto it = in.fleet.regions.begin();
    for (const auto& [r, n] : d.desired) {
      for (; it != in.fleet.regions.end() && it->first < r; ++it) it->second.running = 0;
      if (it != in.fleet.regions.end() && it->first == r) {
        (it++)->second.running = n;
      } else {
        in.fleet.regions.emplace_hint(it, r, RegionMachines{})->second.running = n;
      }
    }
    for (; it != in.fleet.regions.end(); ++it) it->second.running = 0;
    return d;
  }
};

// Times next(), making the next day of reads outside the timing when they run out.
void run(benchmark::State& st, Setup& s) {
  for (auto _ : st) {
    if (s.need_reads()) {
      st.PauseTiming();
      s.make_reads();
      st.ResumeTiming();
    }
    benchmark::DoNotOptimize(s.next());
  }
}

void BM_Decide35Regions(benchmark::State& st) {
  Setup s(Strategy::kLatency);
  run(st, s);
  st.counters["stateBytes"] = static_cast<double>(serialized_size(s.state));
}
BENCHMARK(BM_Decide35Regions)->Unit(benchmark::kMicrosecond);

// 35 candidate regions, traffic from 10 of them (the shape of nasa-10region-5m.csv).
void BM_Decide35Regions10Origins(benchmark::State& st) {
  Setup s(Strategy::kLatency, 10);
  run(st, s);
}
BENCHMARK(BM_Decide35Regions10Origins)->Unit(benchmark::kMicrosecond);

// The first pass after a start or a catalog change also builds the RTT matrix.
void BM_Decide35RegionsColdCache(benchmark::State& st) {
  Setup s(Strategy::kLatency);
  for (auto _ : st) {
    if (s.need_reads()) {
      st.PauseTiming();
      s.make_reads();
      st.ResumeTiming();
    }
    s.state.cache = RttCache{};
    benchmark::DoNotOptimize(s.next());
  }
}
BENCHMARK(BM_Decide35RegionsColdCache)->Unit(benchmark::kMicrosecond);

void BM_Decide35RegionsThreshold(benchmark::State& st) {
  Setup s(Strategy::kThreshold);
  run(st, s);
}
BENCHMARK(BM_Decide35RegionsThreshold)->Unit(benchmark::kMicrosecond);

// The placement search alone: 35 origins x 35 regions.
void BM_PlaceLatency35(benchmark::State& st) {
  const RegionCatalog c = catalog35();
  PlacementProblem p;
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> size(3.5, 1.0);
  p.regions = static_cast<int>(c.regions().size());
  for (const Region& o : c.regions()) {
    p.demand.push_back(size(rng));
    for (const Region& h : c.regions()) p.rtt.push_back(c.rtt_ms(o.code, h.code));
  }
  p.maxPerRegion = 10;
  p.maxTotal = 200;
  p.costWeightMs = 2;
  int evaluations = 0;
  for (auto _ : st) {
    const PlacementResult r = place_latency(p);
    evaluations = r.evaluations;
    benchmark::DoNotOptimize(r.total);
  }
  st.counters["evaluations"] = evaluations;
}
BENCHMARK(BM_PlaceLatency35)->Unit(benchmark::kMicrosecond);

// The same search in a steady state, as decide() runs it pass after pass: warm-started from the
// regions running now (the previous result), with the switch penalty and the region-to-region
// RTTs (and their kept order) that limit swaps.
void BM_PlaceLatency35Warm(benchmark::State& st) {
  const RegionCatalog c = catalog35();
  PlacementProblem p;
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> size(3.5, 1.0);
  p.regions = static_cast<int>(c.regions().size());
  for (const Region& o : c.regions()) {
    p.demand.push_back(size(rng));
    for (const Region& h : c.regions()) p.rtt.push_back(c.rtt_ms(o.code, h.code));
  }
  p.regionRtt = p.rtt;  // every region is also an origin
  p.maxPerRegion = 10;
  p.maxTotal = 200;
  p.costWeightMs = 2;
  p.switchPenaltyMs = 1;
  const PlacementResult cold = place_latency(p);
  p.running.assign(cold.machines.size(), 0);
  for (std::size_t h = 0; h < cold.machines.size(); ++h) p.running[h] = cold.machines[h] > 0;
  p.order = nearest_first(p);
  p.regionOrder = nearest_regions(p.regionRtt, p.regions);  // decide() keeps both
  int evaluations = 0;
  for (auto _ : st) {
    const PlacementResult r = place_latency(p);
    evaluations = r.evaluations;
    benchmark::DoNotOptimize(r.total);
  }
  st.counters["evaluations"] = evaluations;
}
BENCHMARK(BM_PlaceLatency35Warm)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace autoplacer

BENCHMARK_MAIN();
