// Harness for the traffic scenario CSV reader (sim/scenario.h).
#include <cmath>

#include "harness.h"
#include "sim/scenario.h"

namespace autoplacer::fuzz {

void scenario_csv(std::string_view data) {
  auto r = sim::Scenario::parse_csv(data, "fuzz.csv");
  if (!r) {
    AP_FUZZ_CHECK(r.error().rfind("fuzz.csv", 0) == 0);  // errors name the file
    return;
  }
  const sim::Scenario& s = *r;
  AP_FUZZ_CHECK(s.step_count() > 0);
  AP_FUZZ_CHECK(!s.regions().empty());
  AP_FUZZ_CHECK(s.step().count() > 0);
  AP_FUZZ_CHECK(s.end() > s.start());
  for (std::size_t i = 0; i < s.step_count(); ++i) {
    const double total = s.total_rps(i);
    AP_FUZZ_CHECK(total >= 0 && !std::isnan(total));
  }
  AP_FUZZ_CHECK(s.peak_region_rps() >= 0);
  AP_FUZZ_CHECK(s.step_index(s.start()) == 0);
  AP_FUZZ_CHECK(s.step_index(s.end()) == s.step_count() - 1);
  AP_FUZZ_CHECK(s.demand_at(s.step_time(s.step_count() - 1)).size() == s.regions().size());
}

}  // namespace autoplacer::fuzz
