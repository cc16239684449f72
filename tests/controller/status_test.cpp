// Policy status: condition transitions, the bounded decision ring, JSON both ways.
#include "controller/status.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace autoplacer::controller {
namespace {

namespace json = boost::json;
using std::chrono::seconds;

const TimePoint kT0 = TimePoint{Duration{1'714'564'800'000}};  // 2024-05-01T12:00:00Z

TEST(Rfc3339Test, FormatsAndParses) {
  EXPECT_EQ(format_rfc3339(kT0), "2024-05-01T12:00:00.000Z");
  EXPECT_EQ(format_rfc3339(kT0 + Duration{250}), "2024-05-01T12:00:00.250Z");
  EXPECT_EQ(parse_rfc3339("2024-05-01T12:00:00.250Z"), kT0 + Duration{250});
  EXPECT_EQ(parse_rfc3339("2024-05-01T12:00:00Z"), kT0);
  EXPECT_EQ(parse_rfc3339("2024-05-01T12:00:00.123456789Z"), kT0 + Duration{123});
  EXPECT_EQ(parse_rfc3339("2024-05-01T12:00:00.5+00:00"), kT0 + Duration{500});
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), TimePoint{});
  EXPECT_EQ(parse_rfc3339("2024-05-01 12:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2024-05-01T12:00:00"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2024-13-01T12:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2024-05-01T12:00:00+02:00"), std::nullopt);
  EXPECT_EQ(parse_rfc3339(""), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2024-05-01T12:00:00.Z"), std::nullopt);
}

TEST(ConditionNamesTest, RoundTrip) {
  for (ConditionType t : kAllConditionTypes) {
    EXPECT_EQ(condition_type_from_string(to_string(t)), t);
  }
  EXPECT_STREQ(to_string(ConditionType::kMetricsAvailable), "MetricsAvailable");
  EXPECT_EQ(condition_type_from_string("Nope"), std::nullopt);
  EXPECT_EQ(condition_status_from_string("True"), ConditionStatus::kTrue);
  EXPECT_EQ(condition_status_from_string("Unknown"), ConditionStatus::kUnknown);
  EXPECT_EQ(condition_status_from_string("true"), std::nullopt);
}

TEST(PolicyStatusTest, TransitionTimeChangesOnlyWhenStatusChanges) {
  PolicyStatus s("web");
  EXPECT_EQ(s.condition(ConditionType::kReady), nullptr);
  EXPECT_TRUE(s.set_condition(ConditionType::kReady, false, "FirstPassPending", "starting", kT0));
  const Condition* ready = s.condition(ConditionType::kReady);
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->last_transition_time, kT0);

  // Same status, new reason and message: no transition, the time stays.
  EXPECT_FALSE(
      s.set_condition(ConditionType::kReady, false, "MachinesApiError", "503", kT0 + seconds(10)));
  ready = s.condition(ConditionType::kReady);
  EXPECT_EQ(ready->last_transition_time, kT0);
  EXPECT_EQ(ready->reason, "MachinesApiError");
  EXPECT_EQ(ready->message, "503");

  // Status changes: the time moves.
  EXPECT_TRUE(
      s.set_condition(ConditionType::kReady, true, "ReconcileSucceeded", "ok", kT0 + seconds(20)));
  EXPECT_EQ(s.condition(ConditionType::kReady)->last_transition_time, kT0 + seconds(20));
  EXPECT_TRUE(s.is_true(ConditionType::kReady));
  EXPECT_FALSE(
      s.set_condition(ConditionType::kReady, true, "ReconcileSucceeded", "ok", kT0 + seconds(30)));
  EXPECT_EQ(s.condition(ConditionType::kReady)->last_transition_time, kT0 + seconds(20));

  EXPECT_TRUE(s.set_condition(ConditionType::kReady, ConditionStatus::kUnknown, "Restarted", "",
                              kT0 + seconds(40)));
  EXPECT_EQ(s.condition(ConditionType::kReady)->last_transition_time, kT0 + seconds(40));
  EXPECT_FALSE(s.is_true(ConditionType::kReady));
}

TEST(PolicyStatusTest, ConditionsKeepACanonicalOrder) {
  PolicyStatus s("web");
  s.set_condition(ConditionType::kDegraded, false, "AsExpected", "", kT0);
  s.set_condition(ConditionType::kMetricsAvailable, true, "QuerySucceeded", "", kT0);
  s.set_condition(ConditionType::kReady, true, "ReconcileSucceeded", "", kT0);
  s.set_condition(ConditionType::kScalingLimited, false, "DesiredWithinRange", "", kT0);
  ASSERT_EQ(s.conditions().size(), 4u);
  EXPECT_EQ(s.conditions()[0].type, ConditionType::kReady);
  EXPECT_EQ(s.conditions()[1].type, ConditionType::kScalingLimited);
  EXPECT_EQ(s.conditions()[2].type, ConditionType::kMetricsAvailable);
  EXPECT_EQ(s.conditions()[3].type, ConditionType::kDegraded);
}

TEST(PolicyStatusTest, RecentDecisionsAreABoundedRing) {
  PolicyStatus s("web", 3);
  for (int i = 0; i < 5; ++i) {
    s.record_decision(DecisionRecord{kT0 + seconds(i), "fra", i, i + 1, "up", "demand", ""});
  }
  ASSERT_EQ(s.recent_decisions().size(), 3u);
  EXPECT_EQ(s.recent_decisions().front().from, 2);  // the two oldest were dropped
  EXPECT_EQ(s.recent_decisions().back().from, 4);
}

PolicyStatus sample_status() {
  PolicyStatus s("web", 8);
  s.set_observed_generation(7);
  s.set_mode("enforce");
  s.set_condition(ConditionType::kReady, true, "ReconcileSucceeded", "placement applied", kT0);
  s.set_condition(ConditionType::kMetricsAvailable, false, "QueryFailed",
                  "prometheus: timeout after 5s", kT0 + seconds(5));
  s.set_condition(ConditionType::kScalingLimited, true, "MaxTotal", "capped by maxTotal 10",
                  kT0 + Duration{1500});
  s.set_placement({{"fra", 2}, {"iad", 1}}, {{"fra", 3}, {"syd", 1}});
  s.record_decision(
      DecisionRecord{kT0, "fra", 2, 3, "up", "demand", "demand 120 req/s needs 3 machines of 50"});
  s.record_decision(
      DecisionRecord{kT0, "iad", 1, 0, "down", "cooldown", "held: cooldown until 12:05"});
  s.set_error(ErrorRecord{kT0 + seconds(3), "MachinesApiError", "create in syd: 503"});
  s.set_last_reconcile(kT0 + seconds(2), true);
  s.set_last_reconcile(kT0 + seconds(9), false);
  return s;
}

TEST(PolicyStatusTest, ToJsonHasTheKubernetesShape) {
  json::value j = sample_status().to_json();
  const json::object& o = j.as_object();
  EXPECT_EQ(o.at("policy"), "web");
  EXPECT_EQ(o.at("observedGeneration"), 7);
  EXPECT_EQ(o.at("mode"), "enforce");
  const json::array& conditions = o.at("conditions").as_array();
  ASSERT_EQ(conditions.size(), 3u);
  EXPECT_EQ(conditions[0].at("type"), "Ready");
  EXPECT_EQ(conditions[0].at("status"), "True");
  EXPECT_EQ(conditions[0].at("reason"), "ReconcileSucceeded");
  EXPECT_EQ(conditions[0].at("lastTransitionTime"), "2024-05-01T12:00:00.000Z");
  EXPECT_EQ(conditions[1].at("type"), "ScalingLimited");
  EXPECT_EQ(conditions[2].at("status"), "False");
  EXPECT_EQ(o.at("placement").at("current").at("fra"), 2);
  EXPECT_EQ(o.at("placement").at("desired").at("syd"), 1);
  const json::array& decisions = o.at("recentDecisions").as_array();
  ASSERT_EQ(decisions.size(), 2u);
  EXPECT_EQ(decisions[0].at("region"), "fra");
  EXPECT_EQ(decisions[0].at("reason"), "demand");
  EXPECT_EQ(decisions[1].at("direction"), "down");
  EXPECT_EQ(o.at("lastError").at("reason"), "MachinesApiError");
  EXPECT_EQ(o.at("lastReconcileTime"), "2024-05-01T12:00:09.000Z");
  EXPECT_EQ(o.at("lastSuccessfulReconcileTime"), "2024-05-01T12:00:02.000Z");

  PolicyStatus fresh("api");
  json::value f = fresh.to_json();
  EXPECT_TRUE(f.at("lastError").is_null());
  EXPECT_TRUE(f.at("lastReconcileTime").is_null());
  EXPECT_TRUE(f.at("conditions").as_array().empty());
}

TEST(PolicyStatusTest, JsonRoundTrip) {
  PolicyStatus s = sample_status();
  auto back = PolicyStatus::from_json(s.to_json(), 8);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, s);
  // Through text too, as the state store keeps it.
  auto reparsed = PolicyStatus::from_json(json::parse(json::serialize(s.to_json())), 8);
  ASSERT_TRUE(reparsed.ok());
  EXPECT_EQ(*reparsed, s);
  // Transition times survive, so a restart does not pretend everything just changed.
  EXPECT_EQ(reparsed->condition(ConditionType::kMetricsAvailable)->last_transition_time,
            kT0 + seconds(5));
}

TEST(PolicyStatusTest, FromJsonRejectsBadDocumentsWithoutCrashing) {
  const char* bad[] = {
      "[]",
      "{}",
      R"({"policy": 3})",
      R"({"policy": "web", "conditions": {}})",
      R"({"policy": "web", "conditions": [{"type": "Bogus", "status": "True",
          "lastTransitionTime": "2024-05-01T12:00:00Z"}]})",
      R"({"policy": "web", "conditions": [{"type": "Ready", "status": "Maybe",
          "lastTransitionTime": "2024-05-01T12:00:00Z"}]})",
      R"({"policy": "web", "conditions": [{"type": "Ready", "status": "True",
          "lastTransitionTime": "yesterday"}]})",
      R"({"policy": "web", "placement": {"current": {"fra": -1}}})",
      R"({"policy": "web", "placement": {"current": {"fra": "two"}}})",
      R"({"policy": "web", "recentDecisions": [{"region": "fra"}]})",
      R"({"policy": "web", "recentDecisions": [1]})",
      R"({"policy": "web", "lastError": "boom"})",
      R"({"policy": "web", "lastReconcileTime": 12})",
      R"({"policy": "web", "observedGeneration": "7"})",
  };
  for (const char* text : bad) {
    auto r = PolicyStatus::from_json(json::parse(text));
    EXPECT_FALSE(r.ok()) << text;
    if (!r.ok()) {
      EXPECT_FALSE(r.error().empty()) << text;
    }
  }
}

TEST(PolicyStatusTest, FromJsonBoundsTheRingToItsCapacity) {
  PolicyStatus s("web", 10);
  for (int i = 0; i < 10; ++i) s.record_decision(DecisionRecord{kT0, "fra", i, i, "none", "", ""});
  auto back = PolicyStatus::from_json(s.to_json(), 4);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->recent_decisions().size(), 4u);
  EXPECT_EQ(back->recent_decisions().front().from, 6);
}

}  // namespace
}  // namespace autoplacer::controller
