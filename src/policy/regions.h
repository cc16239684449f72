#pragma once
// Fly regions: where machines can run (hostable), where traffic can enter (edge-only too), and a
// round-trip-time model between them. The built-in table is the fallback; the controller refreshes
// it from GET /v1/platform/regions when the Machines API answers.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace autoplacer {

struct Region {
  std::string code;  // three letters, lower case: "fra"
  std::string name;  // "Frankfurt, Germany"
  double latitude = 0;
  double longitude = 0;
  bool hostable = false;    // machines can run here
  bool deprecated = false;  // as the platform reports it
};

class RegionCatalog {
 public:
  // The 18 hostable regions and the known edge-only ones, with airport coordinates.
  static const RegionCatalog& builtin();

  RegionCatalog() = default;
  explicit RegionCatalog(std::vector<Region> regions);

  const Region* find(std::string_view code) const;
  bool known(std::string_view code) const { return find(code) != nullptr; }
  bool hostable(std::string_view code) const;

  // Hostable region codes, sorted.
  const std::vector<std::string>& hostable_codes() const { return hostable_codes_; }
  const std::vector<Region>& regions() const { return regions_; }

  // The region itself when hostable, else the nearest hostable one by great-circle distance;
  // nullopt for an unknown code.
  std::optional<std::string> nearest_hostable(std::string_view code) const;

  double distance_km(std::string_view a, std::string_view b) const;

  // Round-trip time in ms: a measurement when one was given, else 5 ms + great-circle km / 70.
  // Unknown codes give a large value (1000 ms) rather than failing.
  double rtt_ms(std::string_view a, std::string_view b) const;
  void set_measured_rtt(std::string_view a, std::string_view b, double ms);

  // Replaces the entries the platform reports (hostable set, coordinates, deprecated flag), keeping
  // built-in edge-only regions the platform does not list.
  void merge_platform_regions(const std::vector<Region>& from_platform);

  // Changes whenever the content changes (regions or measured RTTs); unique across catalogs, so a
  // consumer can cache derived data (the decision core's RTT matrix) keyed by it.
  std::uint64_t revision() const { return revision_; }

 private:
  void reindex();

  std::vector<Region> regions_;
  std::vector<std::string> hostable_codes_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::map<std::pair<std::string, std::string>, double> measured_rtt_;
  std::uint64_t revision_ = 0;
};

// The model used when nothing was measured: 5 ms + great-circle km / 70.
double modelled_rtt_ms(double km);
double great_circle_km(double lat1, double lon1, double lat2, double lon2);

}  // namespace autoplacer
