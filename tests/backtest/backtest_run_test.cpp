// The replay model (backtest.h): when passes happen, what they see, when machines serve, and what
// the timeline records; with scripted placers so the decision core is not involved.
#include <gtest/gtest.h>

#include <limits>

#include "backtest/backtest.h"
#include "backtest/baselines.h"
#include "backtest/report.h"

namespace autoplacer::backtest {
namespace {

constexpr const char* kCsv =
    "timestamp,region,rps\n"
    "0,iad,10\n0,waw,0\n"
    "300,iad,30\n300,waw,10\n"
    "600,iad,30\n600,waw,10\n"
    "900,iad,0\n900,waw,0\n";

struct Fixture {
  sim::Scenario scenario = std::move(sim::Scenario::parse_csv(kCsv, "t.csv")).value();
  PlacementPolicy policy;
  BacktestSetup setup;
  Fixture() {
    policy.spec.capacity.targetPerMachine = 10;
    policy.spec.capacity.maxPerRegion = 10;
    setup.scenario = &scenario;
    setup.policy = &policy;
    setup.catalog = &RegionCatalog::builtin();
    setup.regions = timeline_regions(RegionCatalog::builtin());
    setup.allowed = usable_regions(policy, RegionCatalog::builtin());
    setup.timings = FleetTimings{Duration{20'000}, Duration{300}, Duration{200}};
    setup.observeDelay = Duration{60'000};
    setup.passInterval = Duration{30'000};
  }
  std::size_t col(const std::string& r) const {
    for (std::size_t i = 0; i < setup.regions.size(); ++i)
      if (setup.regions[i] == r) return i;
    return setup.regions.size();
  }
};

// Asks for ceil(total / 10) machines in iad and records what it saw.
class ScriptedPlacer : public Placer {
 public:
  std::vector<std::pair<std::int64_t, double>> seen;  // (pass time s, iad demand)
  int cap = 100;                                      // at most this many machines added a pass
  PlacerPass pass(const DemandReading& d, const FleetObservation& fleet, TimePoint now) override {
    seen.emplace_back(now.time_since_epoch().count() / 1000, d.rps.at("iad"));
    double total = 0;
    for (const auto& [o, v] : d.rps) total += v;
    int want = static_cast<int>((total + 9.999) / 10);
    int have = fleet.regions.count("iad") ? fleet.regions.at("iad").active() : 0;
    PlacerPass p;
    p.limited = want > have + cap;
    want = std::min(want, have + cap);
    if (want > 0) p.desired["iad"] = want;
    p.regions["iad"] = {total, total, "demand"};
    return p;
  }
};

TEST(BacktestRun, PassesSeeEachStepAfterTheObserveDelayAndServeByTheMidpoint) {
  Fixture f;
  ScriptedPlacer placer;
  auto r = run_placer("policy", placer, f.setup);
  ASSERT_TRUE(r.ok()) << r.error();
  // One pass per step (nothing limited; a change triggers one more pass 30 s later).
  ASSERT_GE(placer.seen.size(), 4u);
  EXPECT_EQ(placer.seen[0], (std::pair<std::int64_t, double>{60, 10}));
  const std::size_t iad = f.col("iad");
  // Created at 60 s, serving at 80 s, before the midpoint (150 s).
  EXPECT_EQ(r->running_at(0, iad), 1);
  EXPECT_EQ(r->running_at(1, iad), 4);
  EXPECT_EQ(r->desired_at(1, iad), 4);
  EXPECT_EQ(r->running_at(3, iad), 0);
  EXPECT_DOUBLE_EQ(r->score.unserved_fraction, 0);
  EXPECT_EQ(r->counters.creates, 4);
}

TEST(BacktestRun, ABootLongerThanHalfAStepMissesThatStep) {
  Fixture f;
  f.setup.timings.create = Duration{120'000};  // 60 s + 120 s > 150 s
  ScriptedPlacer placer;
  auto r = run_placer("policy", placer, f.setup);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->running_at(0, f.col("iad")), 0);
  EXPECT_GT(r->score.unserved_fraction, 0);
}

TEST(BacktestRun, LimitedPassesRepeatAtTheIntervalWithinTheStep) {
  Fixture f;
  f.setup.timings.create = Duration{60'000};
  ScriptedPlacer placer;
  placer.cap = 1;  // one machine a pass: at 360 s, 390 s, 420 s within step 1
  auto r = run_placer("policy", placer, f.setup);
  ASSERT_TRUE(r.ok());
  int passes_in_step1 = 0;
  for (const auto& [t, d] : placer.seen) passes_in_step1 += (t >= 300 && t < 600);
  EXPECT_GE(passes_in_step1, 4);
  // One from step 0, plus those created at 360 s and 390 s (serving by 450 s, the midpoint).
  EXPECT_EQ(r->running_at(1, f.col("iad")), 3);
  EXPECT_EQ(r->running_at(2, f.col("iad")), 4);
}

TEST(BacktestRun, FixedAndOracleServeFromTheFirstStep) {
  Fixture f;
  auto st = run_fixed("static", static_placement(f.scenario, f.policy, RegionCatalog::builtin()),
                      f.setup);
  ASSERT_TRUE(st.ok());
  // iad peak 30 -> 3 machines in iad; waw (peak 10) maps to its nearest hostable region.
  EXPECT_EQ(st->running_at(0, f.col("iad")), 3);
  int total = 0;
  for (std::size_t r = 0; r < f.setup.regions.size(); ++r) total += st->running_at(0, r);
  EXPECT_EQ(total, 4);
  EXPECT_DOUBLE_EQ(st->score.unserved_fraction, 0);

  auto oracle = run_oracle("oracle", f.setup);
  ASSERT_TRUE(oracle.ok());
  EXPECT_EQ(oracle->running_at(0, f.col("iad")), 1);
  EXPECT_EQ(oracle->running_at(1, f.col("iad")), 3);
  EXPECT_EQ(oracle->running_at(3, f.col("iad")), 0);
  EXPECT_DOUBLE_EQ(oracle->score.unserved_fraction, 0);
  // Every origin at its nearest region: the RTT limit exactly.
  EXPECT_NEAR(*oracle->score.mean_rtt_ms, *oracle->score.limit_mean_rtt_ms, 1e-9);
}

TEST(BacktestRun, TimelineListsRegionsWithRunningOrDesired) {
  Fixture f;
  ScriptedPlacer placer;
  auto r = run_placer("policy", placer, f.setup);
  ASSERT_TRUE(r.ok());
  ReportContext ctx;
  ctx.scenario = &f.scenario;
  ctx.regions = f.setup.regions;
  const std::string csv = render_timeline_csv(*r, ctx);
  EXPECT_EQ(csv,
            "timestamp,region,running,desired\n"
            "0,iad,1,1\n300,iad,4,4\n600,iad,4,4\n");
}

TEST(BacktestRun, OracleRespectsMaxPerRegionBySpilling) {
  Fixture f;
  f.policy.spec.capacity.maxPerRegion = 2;
  OraclePlacer oracle(f.scenario.regions(), f.policy, RegionCatalog::builtin());
  auto p = oracle.place({35, 0});
  EXPECT_EQ(p.at("iad"), 2);
  int total = 0;
  for (const auto& [r, n] : p) total += n;
  EXPECT_EQ(total, 4);  // 35 req/s in 10s: 2 + 2 nearby
}

TEST(BacktestRun, JsonNumbersAreShortestAndNullWhenNotFinite) {
  EXPECT_EQ(json_number(0.1), "0.1");
  EXPECT_EQ(json_number(12.5), "12.5");
  EXPECT_EQ(json_number(3), "3");
  EXPECT_EQ(json_number(std::numeric_limits<double>::infinity()), "null");
}

}  // namespace
}  // namespace autoplacer::backtest
