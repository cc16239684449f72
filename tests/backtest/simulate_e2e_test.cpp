// `autoplacer simulate` as a user runs it, on the shipped fixture scenario: the files it writes,
// report.json agreeing with a scoring of the written timelines, and the oracle's timeline and score
// pinned to what score_timeline.py printed for it.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backtest/timeline.h"

namespace autoplacer::backtest {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class SimulateE2E : public testing::Test {
 protected:
  void SetUp() override {
    out_ =
        fs::temp_directory_path() / ("autoplacer-simulate-e2e-" + std::to_string(::getpid()) + "-" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(out_);
  }
  void TearDown() override { fs::remove_all(out_); }

  int simulate(const std::string& args) {
    const std::string cmd = std::string(AP_BINARY_DIR) + "/src/cli/autoplacer simulate " + args +
                            " > " + (out_.string() + ".stdout") + " 2> " +
                            (out_.string() + ".stderr");
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  std::string fixture(const std::string& rel) const {
    return std::string(AP_TEST_FIXTURES) + "/" + rel;
  }

  fs::path out_;
};

TEST_F(SimulateE2E, ReportAgreesWithTheWrittenTimelines) {
  const std::string scenario_path = fixture("scenarios/backtest-3region-15m.csv");
  ASSERT_EQ(simulate("--policy " + fixture("backtest/policy.yaml") + " --traffic " + scenario_path +
                     " --out " + out_.string() +
                     " --target-per-machine 22.5607 --baseline all --no-progress"),
            0)
      << read(out_.string() + ".stderr");
  for (const char* f : {"timeline.csv", "timeline-threshold.csv", "timeline-static.csv",
                        "timeline-oracle.csv", "report.json", "report.html"}) {
    EXPECT_TRUE(fs::exists(out_ / f)) << f;
  }
  EXPECT_NE(read(out_.string() + ".stdout").find("oracle"), std::string::npos);
  const std::string html = read(out_ / "report.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);

  auto scenario = sim::Scenario::load_csv(scenario_path);
  ASSERT_TRUE(scenario.ok());
  const boost::json::value report = boost::json::parse(read(out_ / "report.json"));
  const auto& runs = report.at("runs").as_array();
  ASSERT_EQ(runs.size(), 4u);
  std::vector<std::string> allowed;
  for (const auto& a : report.at("settings").at("allowed").as_array())
    allowed.emplace_back(a.as_string());
  for (const auto& run : runs) {
    const std::string name(run.at("name").as_string());
    SCOPED_TRACE(name);
    auto timeline = parse_timeline_csv(read(out_ / std::string(run.at("timeline").as_string())));
    ASSERT_TRUE(timeline.ok()) << timeline.error();
    auto rescored =
        score_timeline(*scenario, *timeline, RegionCatalog::builtin(), 22.5607, allowed);
    ASSERT_TRUE(rescored.ok()) << rescored.error();
    const Score s = rescored->rounded();
    const auto& got = run.at("score");
    EXPECT_EQ(got.at("mean_rtt_ms").to_number<double>(), *s.mean_rtt_ms);
    EXPECT_EQ(got.at("p95_rtt_ms").to_number<double>(), s.p95_rtt_ms);
    EXPECT_EQ(got.at("unserved_fraction").to_number<double>(), s.unserved_fraction);
    EXPECT_EQ(got.at("machine_hours").to_number<double>(), s.machine_hours);
    EXPECT_EQ(got.at("changes").to_number<int>(), s.changes);
    EXPECT_EQ(got.at("flaps").to_number<int>(), s.flaps);
    EXPECT_EQ(got.at("limit_mean_rtt_ms").to_number<double>(), *s.limit_mean_rtt_ms);
    EXPECT_EQ(got.at("limit_machine_hours").to_number<double>(), s.limit_machine_hours);
  }

  // The oracle does not depend on the decision core: its timeline is the committed one, whose
  // score_timeline.py figures are pinned in scorer_agreement_test.cpp.
  EXPECT_EQ(read(out_ / "timeline-oracle.csv"), read(fixture("backtest/timeline-oracle.csv")));
  const auto& oracle = runs[3].at("score");
  EXPECT_EQ(oracle.at("mean_rtt_ms").to_number<double>(), 7.78);
  EXPECT_EQ(oracle.at("machine_hours").to_number<double>(), 569.0);
  EXPECT_EQ(oracle.at("unserved_fraction").to_number<double>(), 0.0);
  EXPECT_TRUE(report.as_object().contains("forecast"));
  EXPECT_FALSE(report.at("targets").as_array().empty());
}

TEST_F(SimulateE2E, BadInputAndUsage) {
  EXPECT_EQ(simulate("--policy " + fixture("backtest/policy.yaml")), 2);
  EXPECT_EQ(simulate("--policy " + fixture("backtest/policy.yaml") + " --traffic " +
                     fixture("scenarios/missing.csv") + " --out " + out_.string()),
            1);
  EXPECT_EQ(simulate("--policy " + fixture("backtest/policy.yaml") + " --traffic " +
                     fixture("scenarios/backtest-3region-15m.csv") + " --out " + out_.string() +
                     " --baseline sometimes"),
            2);
}

TEST_F(SimulateE2E, BaselineNoneRunsThePolicyOnly) {
  ASSERT_EQ(simulate("--policy " + fixture("backtest/policy.yaml") + " --traffic " +
                     fixture("scenarios/backtest-3region-15m.csv") + " --out " + out_.string() +
                     " --baseline none -q --target-peak-machines 10"),
            0);
  const boost::json::value report = boost::json::parse(read(out_ / "report.json"));
  EXPECT_EQ(report.at("runs").as_array().size(), 1u);
  EXPECT_EQ(report.at("settings").at("target_peak_machines").to_number<int>(), 10);
  EXPECT_FALSE(fs::exists(out_ / "timeline-static.csv"));
}

}  // namespace
}  // namespace autoplacer::backtest
