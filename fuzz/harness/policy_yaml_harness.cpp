// Harness for the PlacementPolicy loader (policy/policy_loader.h): any text a user or a mounted
// ConfigMap can put in a policy file.
//
// Properties: the loader never throws or crashes; every error has a position inside the text and a
// message; it is deterministic; and every policy it accepts satisfies the rules validation
// promises, so the decision core can rely on them without checking again.
#include <algorithm>
#include <cmath>
#include <string>

#include "harness.h"
#include "policy/policy_loader.h"

namespace autoplacer::fuzz {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

void check_accepted(const PlacementPolicy& p) {
  const auto& s = p.spec;
  const RegionCatalog& catalog = RegionCatalog::builtin();
  AP_FUZZ_CHECK(!p.metadata.name.empty());
  AP_FUZZ_CHECK(!s.app.empty());
  AP_FUZZ_CHECK(std::isfinite(s.capacity.targetPerMachine) && s.capacity.targetPerMachine > 0);
  AP_FUZZ_CHECK(s.capacity.minPerRegion >= 0);
  AP_FUZZ_CHECK(s.capacity.minPerRegion <= s.capacity.maxPerRegion);
  AP_FUZZ_CHECK(s.capacity.minTotal >= 0);
  AP_FUZZ_CHECK(s.capacity.minTotal <= s.capacity.maxTotal);
  AP_FUZZ_CHECK(s.capacity.minPerRegion <= s.capacity.maxTotal);
  for (const auto& r : s.regions.pinned) {
    AP_FUZZ_CHECK(catalog.hostable(r));
    AP_FUZZ_CHECK(!contains(s.regions.excluded, r));
  }
  for (const auto& r : s.regions.allowed) AP_FUZZ_CHECK(catalog.hostable(r));
  AP_FUZZ_CHECK(s.traffic.interval.count() > 0);
  AP_FUZZ_CHECK(std::isfinite(s.behavior.tolerance) && s.behavior.tolerance >= 0);
  AP_FUZZ_CHECK(std::isfinite(s.placement.costWeightMs) && s.placement.costWeightMs >= 0);
  AP_FUZZ_CHECK(s.behavior.maxCreatesPerPass >= 0);
  for (const auto& rp : s.behavior.scaleUp.policies) AP_FUZZ_CHECK(rp.period.count() > 0);
  for (const auto& rp : s.behavior.scaleDown.policies) AP_FUZZ_CHECK(rp.period.count() > 0);
}

}  // namespace

void policy_yaml(std::string_view data) {
  const LoadResult result = load_policies_from_string(data, "fuzz.yaml");
  const int lines = 1 + static_cast<int>(std::count(data.begin(), data.end(), '\n'));
  for (const Diagnostic& d : result.diagnostics) {
    AP_FUZZ_CHECK(!d.message.empty());
    AP_FUZZ_CHECK(d.file == "fuzz.yaml");
    AP_FUZZ_CHECK(d.line >= 0 && d.line <= lines + 1);
    AP_FUZZ_CHECK(d.column >= 0);
    AP_FUZZ_CHECK(!d.to_string().empty());
  }
  for (const PlacementPolicy& p : result.policies) check_accepted(p);
  // Names are unique among the accepted policies.
  for (std::size_t i = 0; i < result.policies.size(); ++i) {
    for (std::size_t j = i + 1; j < result.policies.size(); ++j) {
      AP_FUZZ_CHECK(result.policies[i].metadata.name != result.policies[j].metadata.name);
    }
  }
  // Deterministic: the controller reloads on every change and compares.
  const LoadResult again = load_policies_from_string(data, "fuzz.yaml");
  AP_FUZZ_CHECK(again.diagnostics == result.diagnostics);
  AP_FUZZ_CHECK(again.policies.size() == result.policies.size());
  for (std::size_t i = 0; i < again.policies.size(); ++i) {
    AP_FUZZ_CHECK(again.policies[i].specHash == result.policies[i].specHash);
  }
}

}  // namespace autoplacer::fuzz
