#include "backtest/sim_fleet.h"

#include <gtest/gtest.h>

namespace autoplacer::backtest {
namespace {

TimePoint at(std::int64_t ms) {
  return TimePoint{Duration{ms}};
}

TEST(SimulatedFleet, CreatedMachinesServeAfterTheCreateDelay) {
  SimulatedFleet f(FleetTimings{Duration{20'000}, Duration{300}, Duration{200}});
  f.advance(at(0));
  f.apply({{"iad", 2}}, RetireAction::kStop);
  EXPECT_EQ(f.serving("iad"), 0);
  EXPECT_EQ(f.observe().regions.at("iad").starting, 2);
  f.advance(at(19'999));
  EXPECT_EQ(f.serving("iad"), 0);
  f.advance(at(20'000));
  EXPECT_EQ(f.serving("iad"), 2);
  EXPECT_EQ(f.counters().creates, 2);
}

TEST(SimulatedFleet, StoppedMachinesRestartFasterThanNewOnesBoot) {
  SimulatedFleet f(FleetTimings{Duration{20'000}, Duration{300}, Duration{200}});
  f.advance(at(0));
  f.apply({{"iad", 3}}, RetireAction::kStop);
  f.advance(at(30'000));
  f.apply({{"iad", 1}}, RetireAction::kStop);  // two stopped
  EXPECT_EQ(f.serving("iad"), 1);
  EXPECT_EQ(f.observe().regions.at("iad").stopped, 2);
  f.apply({{"iad", 4}}, RetireAction::kStop);  // two started, one created
  f.advance(at(30'300));
  EXPECT_EQ(f.serving("iad"), 3);
  f.advance(at(50'000));
  EXPECT_EQ(f.serving("iad"), 4);
  EXPECT_EQ(f.counters().starts, 2);
  EXPECT_EQ(f.counters().creates, 4);
}

TEST(SimulatedFleet, SurplusRetiresBootingMachinesFirstAndRegionsAbsentGoToZero) {
  SimulatedFleet f(FleetTimings{});
  f.advance(at(0));
  f.apply({{"iad", 1}, {"fra", 1}}, RetireAction::kDestroy);
  f.advance(at(60'000));
  f.apply({{"iad", 3}, {"fra", 1}}, RetireAction::kDestroy);  // two booting in iad
  f.apply({{"iad", 1}}, RetireAction::kDestroy);              // those go; fra goes
  EXPECT_EQ(f.serving("iad"), 1);
  EXPECT_EQ(f.serving("fra"), 0);
  EXPECT_EQ(f.observe().regions.count("fra"), 0u);
  EXPECT_EQ(f.counters().destroys, 3);
}

TEST(SimulatedFleet, SuspendedMachinesResume) {
  SimulatedFleet f(FleetTimings{Duration{20'000}, Duration{300}, Duration{200}});
  f.advance(at(0));
  f.apply({{"nrt", 2}}, RetireAction::kSuspend);
  f.advance(at(20'000));
  f.apply({}, RetireAction::kSuspend);
  EXPECT_EQ(f.observe().regions.at("nrt").suspended, 2);
  f.apply({{"nrt", 2}}, RetireAction::kSuspend);
  f.advance(at(20'200));
  EXPECT_EQ(f.serving("nrt"), 2);
  EXPECT_EQ(f.counters().resumes, 2);
}

TEST(SimulatedFleet, TimeNeverGoesBack) {
  SimulatedFleet f(FleetTimings{});
  f.advance(at(1000));
  f.advance(at(10));
  EXPECT_EQ(f.now(), at(1000));
}

}  // namespace
}  // namespace autoplacer::backtest
