// Strategy `latency`: rules on hand-made cases, and the greedy search against the exhaustive
// optimum on random small cases (the measured gap is printed and written in docs/decision-core.md).
#include "policy/placement.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

namespace autoplacer {
namespace {

// Origins and regions on a line: RTT = 5 + |x_o - x_h|.
PlacementProblem on_a_line(const std::vector<double>& origin_x, const std::vector<double>& demand,
                           const std::vector<double>& region_x) {
  PlacementProblem p;
  p.demand = demand;
  p.regions = static_cast<int>(region_x.size());
  for (double ox : origin_x) {
    for (double rx : region_x) p.rtt.push_back(5 + std::fabs(ox - rx));
  }
  p.floor.assign(region_x.size(), 0);
  p.closed.assign(region_x.size(), 0);
  p.maxTotal = 100;
  p.maxPerRegion = 10;
  return p;
}

// Regions and origins at random points of a 200 x 200 plane (RTT = 5 + distance); one origin in
// ten sends nothing, the others a demand drawn from `dem`.
PlacementProblem random_plane(std::mt19937_64& rng, int H, int O,
                              std::uniform_real_distribution<double>& dem) {
  std::uniform_real_distribution<double> coord(0, 200);
  std::uniform_int_distribution<int> coin(0, 9);
  std::vector<double> hx(static_cast<std::size_t>(H)), hy(hx.size());
  for (std::size_t h = 0; h < hx.size(); ++h) hx[h] = coord(rng), hy[h] = coord(rng);
  PlacementProblem p;
  p.regions = H;
  for (int o = 0; o < O; ++o) {
    const double ox = coord(rng), oy = coord(rng);
    p.demand.push_back(coin(rng) == 0 ? 0 : dem(rng));
    for (std::size_t h = 0; h < hx.size(); ++h) {
      p.rtt.push_back(5 + std::hypot(ox - hx[h], oy - hy[h]));
    }
  }
  return p;
}

// How far the search lands from the exhaustive optimum over a set of random cases.
struct GapTally {
  int cases = 0;
  int optimal = 0;
  double worst = 0, sum = 0;
  void add(double found, double best) {
    const double gap = (found - best) / std::max(1e-9, best);
    ++cases;
    if (gap <= 1e-9) ++optimal;
    worst = std::max(worst, gap);
    sum += gap;
  }
  double mean() const { return cases > 0 ? sum / cases : 0; }
  void print(const char* label) const {
    std::printf("[ placement ] %s%d random cases: optimal in %d, mean gap %.4f%%, worst %.4f%%\n",
                label, cases, optimal, 100 * mean(), 100 * worst);
  }
};

TEST(Latency, CapacityIsCeilOfServedDemandWithHeadroom) {
  PlacementProblem p = on_a_line({0}, {120}, {0});
  const PlacementResult r = place_latency(p);
  ASSERT_EQ(r.machines.size(), 1U);
  EXPECT_EQ(r.machines[0], 3);  // 120 * 1.1 / 50 = 2.64
  EXPECT_DOUBLE_EQ(r.meanRttMs, 5);
}

TEST(Latency, FarOriginsGetTheirOwnRegionWhenLatencyIsWorthIt) {
  PlacementProblem p = on_a_line({0, 100}, {20, 20}, {0, 100});
  p.costWeightMs = 20;  // a second machine saves 50 ms of mean RTT: worth it
  PlacementResult r = place_latency(p);
  EXPECT_EQ(r.machines, (std::vector<int>{1, 1}));
  p.costWeightMs = 80;  // not worth it any more: one region serves both
  r = place_latency(p);
  EXPECT_EQ(r.total, 1);
}

TEST(Latency, CompromiseRegionBetweenTwoOrigins) {
  // Two small origins far apart and a region well connected to both; machines are expensive.
  PlacementProblem p = on_a_line({0, 100}, {10, 10}, {0, 50, 100});
  p.rtt = {5, 30, 200, 200, 30, 5};
  p.costWeightMs = 60;
  const PlacementResult r = place_latency(p);
  EXPECT_EQ(r.machines, (std::vector<int>{0, 1, 0}));
}

TEST(Latency, MaxPerRegionSpillsToTheNextNearest) {
  PlacementProblem p = on_a_line({0}, {400}, {0, 10, 200});
  p.maxPerRegion = 4;  // 4 machines carry 4 * 50 / 1.1 = 181.8 req/s
  const PlacementResult r = place_latency(p);
  EXPECT_EQ(r.machines[0], 4);
  EXPECT_EQ(r.machines[1], 4);
  EXPECT_EQ(r.machines[2], 1);
  EXPECT_NEAR(r.unservedRps, 0, 1e-9);
}

TEST(Latency, MaxRttKeepsOriginsOffFarRegionsWhenAvoidable) {
  PlacementProblem p = on_a_line({0, 30}, {5, 5}, {0, 30});
  p.costWeightMs = 1000;  // would put everything in one region
  p.maxRttMs = 20;
  const PlacementResult r = place_latency(p);
  // Each origin served only within 20 ms; a single region would leave the other unserved.
  EXPECT_EQ(r.machines, (std::vector<int>{1, 1}));
}

TEST(Latency, FloorsAndClosedRegions) {
  PlacementProblem p = on_a_line({0}, {40}, {0, 50, 100});
  p.floor = {0, 0, 2};   // pinned-like
  p.closed = {1, 0, 0};  // cooldown after remove
  const PlacementResult r = place_latency(p);
  EXPECT_EQ(r.machines[0], 0);
  EXPECT_EQ(r.machines[2], 2);
}

TEST(Latency, NoDemandMeansOnlyFloors) {
  PlacementProblem p = on_a_line({0}, {0}, {0, 10});
  p.floor = {0, 1};
  const PlacementResult r = place_latency(p);
  EXPECT_EQ(r.machines, (std::vector<int>{0, 1}));
}

TEST(Latency, BadInputGivesEmptyPlacementNotACrash) {
  PlacementProblem p;
  p.regions = 3;
  p.demand = {5};
  p.rtt = {1};  // wrong size
  const PlacementResult r = place_latency(p);
  EXPECT_EQ(r.machines, (std::vector<int>{0, 0, 0}));
}

// Greedy + local improvement against brute force over every open set.
TEST(Latency, GreedyAgainstExactOptimumOnRandomSmallCases) {
  std::mt19937_64 rng(20240505);
  std::uniform_real_distribution<double> dem(0, 300), cost(0, 60);
  std::uniform_int_distribution<int> nh(3, 10), no(1, 8), maxper(1, 8), coin(0, 9);
  const int cases = 400;
  GapTally tally;
  for (int c = 0; c < cases; ++c) {
    const int H = nh(rng), O = no(rng);
    PlacementProblem p = random_plane(rng, H, O, dem);
    p.partialRegions = false;  // the open-set search alone; partial regions are tested below
    p.costWeightMs = cost(rng);
    p.verifyIncremental = true;  // every incremental score checked by a walk
    p.maxPerRegion = maxper(rng);
    p.minPerRegion = coin(rng) == 0 ? 2 : 0;
    p.maxTotal = coin(rng) < 2 ? 6 : 40;
    p.maxRttMs = coin(rng) == 0 ? 80 : 0;
    p.floor.assign(static_cast<std::size_t>(H), 0);
    p.closed.assign(static_cast<std::size_t>(H), 0);
    for (int h = 0; h < H; ++h) {
      if (coin(rng) == 0)
        p.floor[static_cast<std::size_t>(h)] = 1;
      else if (coin(rng) == 0)
        p.closed[static_cast<std::size_t>(h)] = 1;
    }
    const PlacementResult greedy = place_latency(p);
    const PlacementResult exact = place_exact(p);
    ASSERT_GE(greedy.objective, exact.objective - 1e-6) << "case " << c;
    tally.add(greedy.objective, exact.objective);
    // The bounds the search works under hold in its result.
    for (int h = 0; h < H; ++h) {
      const int m = greedy.machines[static_cast<std::size_t>(h)];
      EXPECT_LE(m, std::max(p.maxPerRegion, p.floor[static_cast<std::size_t>(h)]));
      EXPECT_GE(m, p.floor[static_cast<std::size_t>(h)]);
      if (p.closed[static_cast<std::size_t>(h)] && p.floor[static_cast<std::size_t>(h)] == 0) {
        EXPECT_EQ(m, 0);
      }
    }
  }
  tally.print("");
  EXPECT_GE(tally.optimal, cases * 9 / 10);
  EXPECT_LT(tally.mean(), 0.01);
}

// Hysteresis: of two regions equally near a small origin, the one running keeps serving it.
TEST(Latency, SwitchPenaltyKeepsTheRunningRegionAmongNearEqualOnes) {
  // Origin at 0; regions at -10 and +10.5: without history the nearer (-10) wins.
  PlacementProblem p = on_a_line({0}, {20}, {-10, 10.5});
  EXPECT_EQ(place_latency(p).machines, (std::vector<int>{1, 0}));
  // +10.5 runs now: moving costs two switches (one region emptied, one added) for 0.5 ms.
  p.running = {0, 1};
  p.switchPenaltyMs = 1;
  EXPECT_EQ(place_latency(p).machines, (std::vector<int>{0, 1}));
  // Without a penalty the running set is only a starting point.
  p.switchPenaltyMs = 0;
  EXPECT_EQ(place_latency(p).machines, (std::vector<int>{1, 0}));
}

TEST(Latency, RegionAddedOnlyWhenItGainsMoreThanThePenalty) {
  // Two origins 60 apart, one region running at the big one. A machine at the small origin saves
  // 60 ms x its share of the traffic, and costs costWeightMs + the switch penalty.
  // 80 + 10 req/s fit 2 machines (45.5 req/s each with headroom); apart they need 2 + 1. The
  // small origin's share is 1/9: its own machine saves 60 ms / 9 = 6.7 ms of mean RTT.
  PlacementProblem p = on_a_line({0, 60}, {80, 10}, {0, 60});
  p.costWeightMs = 4;
  p.running = {1, 0};
  p.switchPenaltyMs = 1;  // 6.7 > 4 + 1: added
  EXPECT_EQ(place_latency(p).machines[1], 1);
  p.switchPenaltyMs = 3;  // 6.7 < 4 + 3: not yet
  EXPECT_EQ(place_latency(p).machines[1], 0);
  // Once running, it is dropped only when it saves less than costWeightMs - penalty.
  p.running = {1, 1};
  p.costWeightMs = 8;  // 6.7 > 8 - 3: kept
  EXPECT_EQ(place_latency(p).machines[1], 1);
  p.costWeightMs = 10;  // 6.7 < 10 - 3: dropped
  EXPECT_EQ(place_latency(p).machines[1], 0);
}

// The caller's precomputed candidate order gives the same result as the computed one.
TEST(Latency, GivenOrderMatchesComputedOrder) {
  PlacementProblem p = on_a_line({0, 40, 90, 130}, {30, 80, 5, 60}, {0, 20, 40, 60, 90, 130});
  p.costWeightMs = 3;
  const PlacementResult computed = place_latency(p);
  p.order = nearest_first(p);
  const PlacementResult given = place_latency(p);
  EXPECT_EQ(computed.machines, given.machines);
  EXPECT_DOUBLE_EQ(computed.objective, given.objective);
}

// The caller's RTTs in that order (PlacementProblem::orderedRtt) give the same result too.
TEST(Latency, GivenOrderedRttMatchesComputedOne) {
  std::mt19937_64 rng(77);
  std::uniform_real_distribution<double> dem(0, 300);
  for (int c = 0; c < 50; ++c) {
    PlacementProblem p = random_plane(rng, 9, 7, dem);
    p.costWeightMs = 4;
    p.order = nearest_first(p);
    const PlacementResult computed = place_latency(p);
    const auto H = static_cast<std::size_t>(p.regions);
    for (std::size_t i = 0; i < p.order.size(); ++i) {
      p.orderedRtt.push_back(p.rtt[i / H * H + static_cast<std::size_t>(p.order[i])]);
    }
    const PlacementResult given = place_latency(p);
    EXPECT_EQ(computed.machines, given.machines) << "case " << c;
    EXPECT_EQ(computed.objective, given.objective) << "case " << c;
  }
}

// A kept regionOrder finds the same swap neighbours as scanning regionRtt: the same result, for
// the warm search (one neighbour) and the cold one (several), ties in RTT included.
TEST(Latency, GivenRegionOrderMatchesScanningRegionRtt) {
  std::mt19937_64 rng(83);
  std::uniform_real_distribution<double> dem(0, 300), coord(0, 200);
  std::uniform_int_distribution<int> coin(0, 9);
  for (int c = 0; c < 200; ++c) {
    const int H = 2 + coin(rng);
    PlacementProblem p = random_plane(rng, H, 8, dem);
    p.costWeightMs = 2 + coin(rng);
    p.swapNeighbours = 1 + coin(rng) % 4;
    std::vector<double> x(static_cast<std::size_t>(H)), y(x.size());
    for (std::size_t h = 0; h < x.size(); ++h) x[h] = coord(rng), y[h] = coord(rng);
    for (std::size_t a = 0; a < x.size(); ++a) {
      for (std::size_t b = 0; b < x.size(); ++b) {
        // Every third case on a coarse grid, so that equal RTTs occur.
        const double d = std::hypot(x[a] - x[b], y[a] - y[b]);
        p.regionRtt.push_back(c % 3 == 0 ? 5 + std::floor(d / 50) : 5 + d);
      }
    }
    if (coin(rng) < 5) {
      p.running.assign(static_cast<std::size_t>(H), 0);
      for (char& r : p.running) r = coin(rng) < 4;
      p.switchPenaltyMs = 1;
    }
    const PlacementResult scanned = place_latency(p);
    p.regionOrder = nearest_regions(p.regionRtt, H);
    const PlacementResult kept = place_latency(p);
    EXPECT_EQ(kept.machines, scanned.machines) << "case " << c;
    EXPECT_EQ(kept.objective, scanned.objective) << "case " << c;
    EXPECT_EQ(kept.evaluations, scanned.evaluations) << "case " << c;
  }
}

// A workspace reused across problems of every size and shape gives what a fresh one gives.
TEST(Latency, ReusedWorkspaceGivesTheSameResultAsAFreshOne) {
  std::mt19937_64 rng(91);
  std::uniform_real_distribution<double> dem(0, 300), cost(0, 30);
  std::uniform_int_distribution<int> nh(1, 12), no(0, 9), coin(0, 9);
  PlacementWorkspace workspace;
  for (int c = 0; c < 200; ++c) {
    const int H = nh(rng), O = no(rng);
    PlacementProblem p = random_plane(rng, H, O, dem);
    p.costWeightMs = cost(rng);
    p.maxPerRegion = 1 + coin(rng);
    p.maxRttMs = coin(rng) == 0 ? 80 : 0;
    p.running.assign(static_cast<std::size_t>(H), 0);
    for (char& r : p.running) r = coin(rng) < 3;
    p.switchPenaltyMs = coin(rng) < 5 ? 1 : 0;
    if (coin(rng) == 0) p.targetPerMachine = 0;  // bad input in between
    const PlacementResult fresh = place_latency(p);
    const PlacementResult& reused = place_latency(p, workspace);
    EXPECT_EQ(reused.machines, fresh.machines) << "case " << c;
    EXPECT_EQ(reused.load, fresh.load) << "case " << c;
    EXPECT_EQ(reused.assignment, fresh.assignment) << "case " << c;
    EXPECT_EQ(reused.objective, fresh.objective) << "case " << c;
    EXPECT_EQ(reused.unservedRps, fresh.unservedRps) << "case " << c;
    EXPECT_EQ(reused.evaluations, fresh.evaluations) << "case " << c;
  }
}

// The warm-started search (running set, switch penalty, incremental move scoring) against the
// exhaustive optimum of the same objective.
TEST(Latency, WarmSearchAgainstExactOptimumOnRandomSmallCases) {
  std::mt19937_64 rng(515);
  std::uniform_real_distribution<double> dem(0, 300), cost(0, 30), pen(0, 10);
  std::uniform_int_distribution<int> nh(3, 10), no(1, 8), maxper(1, 8), coin(0, 9);
  const int cases = 300;
  GapTally tally;
  for (int c = 0; c < cases; ++c) {
    const int H = nh(rng), O = no(rng);
    PlacementProblem p = random_plane(rng, H, O, dem);
    p.partialRegions = false;
    p.costWeightMs = cost(rng);
    p.verifyIncremental = true;  // every incremental score checked by a walk
    p.maxPerRegion = maxper(rng);
    p.maxTotal = coin(rng) < 2 ? 6 : 40;
    p.maxRttMs = coin(rng) == 0 ? 80 : 0;
    p.floor.assign(static_cast<std::size_t>(H), 0);
    p.closed.assign(static_cast<std::size_t>(H), 0);
    p.running.assign(static_cast<std::size_t>(H), 0);
    for (int h = 0; h < H; ++h) {
      const auto i = static_cast<std::size_t>(h);
      if (coin(rng) < 4) p.running[i] = 1;
      if (coin(rng) == 0)
        p.floor[i] = 1;
      else if (!p.running[i] && coin(rng) == 0)
        p.closed[i] = 1;
    }
    p.switchPenaltyMs = pen(rng);
    const PlacementResult greedy = place_latency(p);
    const PlacementResult exact = place_exact(p);
    ASSERT_GE(greedy.objective, exact.objective - 1e-6) << "case " << c;
    // The objective the search reports is that of the machines it returns.
    std::vector<char> open(static_cast<std::size_t>(H));
    for (int h = 0; h < H; ++h)
      open[static_cast<std::size_t>(h)] = greedy.machines[static_cast<std::size_t>(h)] > 0;
    EXPECT_NEAR(evaluate_placement(p, open).objective, greedy.objective, 1e-6) << "case " << c;
    tally.add(greedy.objective, exact.objective);
  }
  tally.print("warm: ");
  EXPECT_GE(tally.optimal, cases * 9 / 10);
  EXPECT_LT(tally.mean(), 0.01);
}

// Partial regions: a region's last, mostly empty machine is saved when a neighbour's rounding
// slack absorbs the overflow for less RTT than the machine is worth.
TEST(Latency, PartialRegionSendsItsOverflowToANeighboursSlack) {
  // 100 req/s at 0 needs 3 machines (100 x 1.1 / 50 = 2.2); 25 req/s at 60 needs 1 with 20 req/s
  // to spare, and its own region (25 / 125 x 60 ms = 12 ms saved > 5). Two machines at 0 carry
  // 90.9 req/s: the other 9.1 go 60 ms farther, which costs 9.1 / 125 x 60 = 4.4 ms < 5 ms.
  PlacementProblem p = on_a_line({0, 60}, {100, 25}, {0, 60});
  p.costWeightMs = 5;
  PlacementResult r = place_latency(p);
  EXPECT_EQ(r.machines, (std::vector<int>{2, 1}));
  EXPECT_NEAR(r.load[0], 100 / 1.1, 1e-6);
  EXPECT_DOUBLE_EQ(r.unservedRps, 0);
  p.partialRegions = false;  // each region takes all its walkers bring: 3 + 1
  EXPECT_EQ(place_latency(p).machines, (std::vector<int>{3, 1}));
  // When the overflow would cost more RTT than a machine is worth, the region keeps it.
  p.partialRegions = true;
  p.rtt = {5, 75, 75, 5};  // 70 ms away: 9.1 / 125 x 70 = 5.1 ms > 5 ms (own region: 14 ms)
  EXPECT_EQ(place_latency(p).machines, (std::vector<int>{3, 1}));
}

TEST(Latency, PartialRegionNeverLeavesDemandUnservedNorGoesBelowTheFloor) {
  // No neighbour has room: a cap would leave demand unserved, which is worse than any machine.
  PlacementProblem p = on_a_line({0}, {100}, {0});
  p.costWeightMs = 1000;
  EXPECT_EQ(place_latency(p).machines, (std::vector<int>{3}));
  // A region at its floor keeps it, whatever the neighbours' slack.
  p = on_a_line({0, 60}, {100, 25}, {0, 60});
  p.costWeightMs = 5;
  p.floor = {3, 0};
  EXPECT_EQ(place_latency(p).machines[0], 3);
}

// Greedy + local improvement + partial regions against brute force over every cap per region.
TEST(Latency, PartialRegionsAgainstExactOptimumOverCaps) {
  std::mt19937_64 rng(20261130);
  std::uniform_real_distribution<double> dem(0, 200), cost(0, 40), pen(0, 5);
  std::uniform_int_distribution<int> nh(2, 5), no(1, 6), maxper(1, 4), coin(0, 9);
  const int cases = 300;
  GapTally tally;
  for (int c = 0; c < cases; ++c) {
    const int H = nh(rng), O = no(rng);
    PlacementProblem p = random_plane(rng, H, O, dem);
    p.costWeightMs = cost(rng);
    p.verifyIncremental = true;  // every incremental score checked by a walk
    p.maxPerRegion = maxper(rng);
    p.minPerRegion = coin(rng) == 0 ? 2 : 0;
    p.maxTotal = coin(rng) < 2 ? 5 : 40;
    p.floor.assign(static_cast<std::size_t>(H), 0);
    p.closed.assign(static_cast<std::size_t>(H), 0);
    p.running.assign(static_cast<std::size_t>(H), 0);
    for (int h = 0; h < H; ++h) {
      const auto i = static_cast<std::size_t>(h);
      if (coin(rng) < 3) p.running[i] = 1;
      if (coin(rng) == 0)
        p.floor[i] = 1;
      else if (!p.running[i] && coin(rng) == 0)
        p.closed[i] = 1;
    }
    p.switchPenaltyMs = coin(rng) < 5 ? pen(rng) : 0;
    const PlacementResult greedy = place_latency(p);
    const PlacementResult exact = place_exact(p, /*caps=*/true);
    ASSERT_GE(greedy.objective, exact.objective - 1e-6) << "case " << c;
    // Partial regions only ever improve on the open-set search.
    PlacementProblem whole = p;
    whole.partialRegions = false;
    EXPECT_LE(greedy.objective, place_latency(whole).objective + 1e-9) << "case " << c;
    // What the search returns scores the same as machine caps.
    EXPECT_NEAR(evaluate_machines(p, greedy.machines).objective, greedy.objective, 1e-6)
        << "case " << c;
    for (int h = 0; h < H; ++h) {
      const auto i = static_cast<std::size_t>(h);
      EXPECT_LE(greedy.machines[i], std::max(p.maxPerRegion, p.floor[i]));
      EXPECT_GE(greedy.machines[i], p.floor[i]);
    }
    tally.add(greedy.objective, exact.objective);
  }
  tally.print("partial regions: ");
  EXPECT_GE(tally.optimal, cases * 85 / 100);
  EXPECT_LT(tally.mean(), 0.01);
}

// The latency term over the usual demand: at a quiet hour (demand a quarter of the usual) a small
// origin's own machine saves a quarter of the RTT it saves at a usual hour, against the same cost.
TEST(Latency, LatencyReferenceWeighsRttByHowBusyTheHourIs) {
  PlacementProblem p = on_a_line({0, 100}, {20, 20}, {0, 100});
  p.costWeightMs = 20;  // the second machine saves 50 ms of this moment's mean RTT: worth it
  EXPECT_EQ(place_latency(p).machines, (std::vector<int>{1, 1}));
  p.latencyReferenceRps = 40;  // the usual demand is this one: the same decision
  EXPECT_EQ(place_latency(p).machines, (std::vector<int>{1, 1}));
  p.latencyReferenceRps = 160;  // a quiet hour: 20 x 100 ms / 160 = 12.5 ms < 20: one region
  const PlacementResult quiet = place_latency(p);
  EXPECT_EQ(quiet.total, 1);
  // The objective is the RTT term over the reference plus the machines.
  EXPECT_NEAR(quiet.objective, (20 * 5 + 20 * 105) / 160.0 + 20, 1e-9);
  EXPECT_DOUBLE_EQ(quiet.meanRttMs, 55);  // mean RTT is still over the demand served
  p.latencyReferenceRps = 10;  // a busy hour, four times the usual: RTT weighs four times
  p.costWeightMs = 150;        // 20 x 100 / 10 = 200 ms > 150: still two regions
  EXPECT_EQ(place_latency(p).machines, (std::vector<int>{1, 1}));
}

}  // namespace
}  // namespace autoplacer
