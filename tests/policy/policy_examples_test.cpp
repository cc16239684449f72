// The shipped policies (deploy/policies) validate without a single diagnostic, the annotated
// example writes every field, and docs/policy.md documents every field: nothing a user reads
// can drift from what the loader accepts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "policy/policy_loader.h"

namespace autoplacer {
namespace {

namespace fs = std::filesystem;
using ::testing::IsEmpty;

const fs::path kDeployPolicies = fs::path(AP_SOURCE_DIR) / "deploy" / "policies";

const PlacementPolicy* find(const LoadResult& r, const std::string& name) {
  for (const PlacementPolicy& p : r.policies) {
    if (p.metadata.name == name) return &p;
  }
  return nullptr;
}

TEST(DeployPolicies, AllValidateWithoutAWarning) {
  LoadResult r = load_policies(kDeployPolicies.string());
  EXPECT_THAT(r.messages(), IsEmpty());
  EXPECT_GE(r.policies.size(), 5u);
}

TEST(DeployPolicies, DemoShowsMovementWithinAMinute) {
  LoadResult r = load_policies((kDeployPolicies / "demo.yaml").string());
  ASSERT_THAT(r.messages(), IsEmpty());
  const PlacementPolicy* demo = find(r, "demo");
  ASSERT_NE(demo, nullptr);
  EXPECT_EQ(demo->spec.app, "demo");
  EXPECT_EQ(demo->spec.mode, Mode::kEnforce);
  EXPECT_EQ(demo->spec.placement.strategy, Strategy::kLatency);
  EXPECT_LE(demo->spec.traffic.interval, std::chrono::seconds(10));
  EXPECT_LE(demo->spec.behavior.cooldownAfterAdd, std::chrono::seconds(60));
  EXPECT_LE(demo->spec.behavior.scaleDown.stabilizationWindow, std::chrono::seconds(60));
  EXPECT_GE(demo->spec.regions.allowed.size(), 3u);
}

// Every field path written in a YAML node, lists as "[]".
void collect_paths(const YAML::Node& n, const std::string& path, std::set<std::string>& out) {
  if (n.IsMap()) {
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string p = path.empty() ? it->first.Scalar() : path + "." + it->first.Scalar();
      out.insert(p);
      // Free-form maps (labels, variables, staticPlacement) have user keys, not fields.
      if (p.ends_with("labels") || p.ends_with("annotations") || p.ends_with("variables") ||
          p.ends_with("staticPlacement")) {
        continue;
      }
      collect_paths(it->second, p, out);
    }
  } else if (n.IsSequence()) {
    for (std::size_t i = 0; i < n.size(); ++i) collect_paths(n[i], path + "[]", out);
  }
}

TEST(DeployPolicies, AnnotatedExampleWritesEveryField) {
  const fs::path file = kDeployPolicies / "example-annotated.yaml";
  LoadResult r = load_policies(file.string());
  ASSERT_THAT(r.messages(), IsEmpty());
  std::set<std::string> written;
  for (const YAML::Node& doc : YAML::LoadAllFromFile(file.string())) {
    collect_paths(doc, "", written);
  }
  for (const std::string& path : known_field_paths()) {
    EXPECT_TRUE(written.count(path) > 0) << path << " is not in " << file;
  }
}

TEST(PolicyDocs, DocumentEveryField) {
  std::ifstream in(fs::path(AP_SOURCE_DIR) / "docs" / "policy.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  ASSERT_FALSE(doc.empty());
  for (std::string path : known_field_paths()) {
    if (path.starts_with("spec.")) path = path.substr(5);
    EXPECT_NE(doc.find("`" + path + "`"), std::string::npos) << path << " is not in docs/policy.md";
  }
}

}  // namespace
}  // namespace autoplacer
