// Crashes the scenario_csv fuzzer found, each as the input that caused it and the error value
// the parser must give instead.
#include <gtest/gtest.h>

#include "corpus_files.h"
#include "sim/scenario.h"

namespace autoplacer::sim {
namespace {

// Found by scenario_csv_fuzz: a timestamp near 1.7e16 made `timestamp * 1000` (seconds to ms)
// overflow int64 (undefined behaviour; UBSan: signed integer overflow in parse_csv).
TEST(FuzzRegressionScenario, HugeTimestampIsAnErrorNotAnOverflow) {
  const std::string input = fuzz::read_file(std::filesystem::path(AP_SOURCE_DIR) /
                                            "tests/fuzz_regressions/inputs/scenario_csv/"
                                            "crash-timestamp-overflow");
  ASSERT_FALSE(input.empty());
  auto r = Scenario::parse_csv(input, "crash.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "crash.csv:3: timestamp out of range");
}

TEST(FuzzRegressionScenario, TimestampBounds) {
  EXPECT_FALSE(Scenario::parse_csv("timestamp,region,rps\n-60,fra,1\n", "x").ok());
  EXPECT_FALSE(Scenario::parse_csv("timestamp,region,rps\n9223372036854775807,fra,1\n", "x").ok());
  EXPECT_FALSE(
      Scenario::parse_csv("timestamp,region,rps\n0,fra,1\n9223372036854775807,fra,1\n", "x").ok());
  // The largest accepted time still converts to milliseconds without overflow.
  auto r = Scenario::parse_csv("timestamp,region,rps\n0,fra,1\n100000000000,fra,2\n", "x");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->step().count(), 100'000'000'000'000);
}

}  // namespace
}  // namespace autoplacer::sim
