#pragma once
// Keeps the region catalog that maps edge-only origins onto hostable regions in step with the
// platform: GET /v1/platform/regions through the Machines API, merged into the catalog. The
// built-in table (policy/regions.h) is the fallback when the API cannot be reached, so a failed
// refresh changes nothing.
#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/regions.h"

namespace autoplacer::fly {
class MachinesApi;
}

namespace autoplacer::metrics {

// What a refresh changed (for a log line; the catalog itself is the result).
struct RegionRefresh {
  std::size_t listed = 0;                     // regions the platform listed (usable entries)
  std::size_t hostable = 0;                   // hostable regions in the catalog afterwards
  std::vector<std::string> added;             // codes the catalog did not know
  std::vector<std::string> becameHostable;    // were edge-only (or deprecated) before
  std::vector<std::string> noLongerHostable;  // deprecated, or no longer listed
  std::vector<std::string> skipped;           // entries with an unusable code
};

// Pure: merges the platform's answer into `catalog`. The platform's list is the hostable set:
// a listed region is hostable unless deprecated, and a region the catalog had as hostable that
// the platform no longer lists stays known (users still enter there) but is no longer hostable.
// Edge-only regions the platform never lists are kept. An answer with no usable hostable region
// is refused (error, catalog untouched): a broken answer must not leave demand with nowhere to
// map. Codes are lower-cased; codes that are not 2-4 letters/digits are skipped.
Result<RegionRefresh, std::string> apply_platform_regions(const std::vector<Region>& platform,
                                                          RegionCatalog& catalog);

// GET /v1/platform/regions and apply_platform_regions. On any failure the catalog is unchanged
// and the error says why ("regions: 503 ...").
boost::asio::awaitable<Result<RegionRefresh, std::string>> refresh_region_catalog(
    fly::MachinesApi& api, RegionCatalog& catalog);

// "18 hostable; added xyz; no longer hostable: waw" -- for the controller's log.
std::string describe(const RegionRefresh& r);

}  // namespace autoplacer::metrics
