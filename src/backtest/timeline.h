#pragma once
// Reading a timeline back (`timestamp,region,running[,desired]`) and scoring it against a
// scenario, as score_timeline.py does with the files: a check of the report that goes through the
// written files rather than the in-memory run.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backtest/scorer.h"
#include "common/result.h"
#include "sim/scenario.h"

namespace autoplacer::backtest {

struct Timeline {
  // Per timestamp, (region, running > 0) in file order.
  std::map<std::int64_t, std::vector<std::pair<std::string, int>>> running;
};

Result<Timeline, std::string> parse_timeline_csv(std::string_view text);

// `allowed` empty = every hostable region of the catalog (the script's default).
Result<Score, std::string> score_timeline(const sim::Scenario& scenario, const Timeline& timeline,
                                          const RegionCatalog& catalog, double capacity,
                                          std::vector<std::string> allowed = {});

}  // namespace autoplacer::backtest
