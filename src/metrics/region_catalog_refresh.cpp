#include "metrics/region_catalog_refresh.h"

#include <algorithm>
#include <iterator>
#include <map>

#include "fly/machines_api.h"

namespace autoplacer::metrics {
namespace {

// Region codes are short lower-case tokens ("fra", "iad"); anything else is not a code we can
// match against the `region` label of edge metrics.
bool usable_code(std::string& code) {
  if (code.size() < 2 || code.size() > 4) return false;
  for (char& c : code) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

void append_list(std::string& out, const char* what, const std::vector<std::string>& codes) {
  if (codes.empty()) return;
  out += std::string("; ") + what + ": ";
  for (std::size_t i = 0; i < codes.size(); ++i) out += (i ? "," : "") + codes[i];
}

}  // namespace

Result<RegionRefresh, std::string> apply_platform_regions(const std::vector<Region>& platform,
                                                          RegionCatalog& catalog) {
  RegionRefresh out;
  std::map<std::string, Region> listed;  // by code; a repeated code: the last entry wins
  for (Region r : platform) {
    if (!usable_code(r.code)) {
      out.skipped.push_back(r.code);
      continue;
    }
    // A region we have never seen needs coordinates, or "nearest" would be measured from 0,0.
    if (!catalog.known(r.code) && r.latitude == 0 && r.longitude == 0) {
      out.skipped.push_back(r.code);
      continue;
    }
    r.hostable = !r.deprecated;
    listed.insert_or_assign(r.code, std::move(r));
  }
  const bool any_hostable =
      std::any_of(listed.begin(), listed.end(), [](const auto& kv) { return kv.second.hostable; });
  if (!any_hostable) {
    return make_err("the platform listed no usable hostable region (" +
                    std::to_string(platform.size()) + " entries); keeping the region catalog");
  }

  const std::vector<std::string> hostable_before = catalog.hostable_codes();
  std::vector<Region> merge;
  merge.reserve(listed.size() + hostable_before.size());
  for (const auto& [code, r] : listed) {
    if (!catalog.known(code)) out.added.push_back(code);
    merge.push_back(r);
  }
  // Hostable before but not listed now: a retired region. Users may still enter there, so it
  // stays in the catalog as an origin, mapped to its nearest listed region.
  for (const auto& code : hostable_before) {
    if (listed.count(code) != 0) continue;
    Region r;
    r.code = code;
    r.hostable = false;
    r.deprecated = catalog.find(code)->deprecated;
    merge.push_back(std::move(r));
  }
  catalog.merge_platform_regions(merge);

  const auto& hostable_after = catalog.hostable_codes();  // both sorted
  std::set_difference(hostable_before.begin(), hostable_before.end(), hostable_after.begin(),
                      hostable_after.end(), std::back_inserter(out.noLongerHostable));
  std::vector<std::string> gained;
  std::set_difference(hostable_after.begin(), hostable_after.end(), hostable_before.begin(),
                      hostable_before.end(), std::back_inserter(gained));
  for (auto& code : gained) {
    if (std::find(out.added.begin(), out.added.end(), code) == out.added.end()) {
      out.becameHostable.push_back(std::move(code));
    }
  }
  out.listed = listed.size();
  out.hostable = catalog.hostable_codes().size();
  return out;
}

boost::asio::awaitable<Result<RegionRefresh, std::string>> refresh_region_catalog(
    fly::MachinesApi& api, RegionCatalog& catalog) {
  using Out = Result<RegionRefresh, std::string>;
  auto regions = co_await api.list_regions();
  if (!regions) co_return Out(make_err("regions: " + fly::describe(regions.error())));
  co_return apply_platform_regions(*regions, catalog);
}

std::string describe(const RegionRefresh& r) {
  std::string out = std::to_string(r.hostable) + " hostable regions (" + std::to_string(r.listed) +
                    " listed by the platform)";
  append_list(out, "added", r.added);
  append_list(out, "now hostable", r.becameHostable);
  append_list(out, "no longer hostable", r.noLongerHostable);
  append_list(out, "skipped bad entries", r.skipped);
  return out;
}

}  // namespace autoplacer::metrics
