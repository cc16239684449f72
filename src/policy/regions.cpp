#include "policy/regions.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numbers>

namespace autoplacer {
namespace {

std::vector<Region> builtin_regions() {
  // Coordinates are the airports the region codes are named after.
  return {
      {"ams", "Amsterdam, Netherlands", 52.31, 4.76, true, false},
      {"arn", "Stockholm, Sweden", 59.65, 17.92, true, false},
      {"bom", "Mumbai, India", 19.09, 72.87, true, false},
      {"cdg", "Paris, France", 49.01, 2.55, true, false},
      {"dfw", "Dallas, Texas (US)", 32.90, -97.04, true, false},
      {"ewr", "Secaucus, NJ (US)", 40.79, -74.06, true, false},
      {"fra", "Frankfurt, Germany", 50.03, 8.57, true, false},
      {"gru", "Sao Paulo, Brazil", -23.43, -46.47, true, false},
      {"iad", "Ashburn, Virginia (US)", 38.94, -77.46, true, false},
      {"jnb", "Johannesburg, South Africa", -26.14, 28.25, true, false},
      {"lax", "Los Angeles, California (US)", 33.94, -118.41, true, false},
      {"lhr", "London, United Kingdom", 51.47, -0.45, true, false},
      {"nrt", "Tokyo, Japan", 35.76, 140.39, true, false},
      {"ord", "Chicago, Illinois (US)", 41.98, -87.90, true, false},
      {"sin", "Singapore, Singapore", 1.36, 103.99, true, false},
      {"sjc", "San Jose, California (US)", 37.36, -121.93, true, false},
      {"syd", "Sydney, Australia", -33.94, 151.18, true, false},
      {"yyz", "Toronto, Canada", 43.68, -79.63, true, false},
      // Edge-only: traffic enters here, machines cannot run here.
      {"atl", "Atlanta, Georgia (US)", 33.64, -84.43, false, false},
      {"bog", "Bogota, Colombia", 4.70, -74.15, false, false},
      {"bos", "Boston, Massachusetts (US)", 42.36, -71.01, false, false},
      {"den", "Denver, Colorado (US)", 39.86, -104.67, false, false},
      {"eze", "Ezeiza, Argentina", -34.82, -58.54, false, false},
      {"gdl", "Guadalajara, Mexico", 20.52, -103.31, false, false},
      {"gig", "Rio de Janeiro, Brazil", -22.81, -43.25, false, false},
      {"hkg", "Hong Kong", 22.31, 113.92, false, false},
      {"mad", "Madrid, Spain", 40.47, -3.56, false, false},
      {"mia", "Miami, Florida (US)", 25.79, -80.29, false, false},
      {"otp", "Bucharest, Romania", 44.57, 26.10, false, false},
      {"phx", "Phoenix, Arizona (US)", 33.43, -112.01, false, false},
      {"qro", "Queretaro, Mexico", 20.62, -100.19, false, false},
      {"scl", "Santiago, Chile", -33.39, -70.79, false, false},
      {"sea", "Seattle, Washington (US)", 47.45, -122.31, false, false},
      {"waw", "Warsaw, Poland", 52.17, 20.97, false, false},
  };
}

std::uint64_t next_revision() {
  static std::atomic<std::uint64_t> counter{0};
  return ++counter;
}

}  // namespace

double great_circle_km(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kRad = std::numbers::pi / 180.0;
  const double p1 = lat1 * kRad, p2 = lat2 * kRad;
  const double dp = p2 - p1, dl = (lon2 - lon1) * kRad;
  const double h = std::sin(dp / 2) * std::sin(dp / 2) +
                   std::cos(p1) * std::cos(p2) * std::sin(dl / 2) * std::sin(dl / 2);
  return 2 * 6371.0 * std::asin(std::sqrt(h));
}

double modelled_rtt_ms(double km) {
  return 5.0 + km / 70.0;
}

const RegionCatalog& RegionCatalog::builtin() {
  static const RegionCatalog catalog(builtin_regions());
  return catalog;
}

RegionCatalog::RegionCatalog(std::vector<Region> regions) : regions_(std::move(regions)) {
  reindex();
}

void RegionCatalog::reindex() {
  revision_ = next_revision();
  std::sort(regions_.begin(), regions_.end(),
            [](const Region& a, const Region& b) { return a.code < b.code; });
  index_.clear();
  hostable_codes_.clear();
  for (std::size_t i = 0; i < regions_.size(); ++i) {
    index_.emplace(regions_[i].code, i);
    if (regions_[i].hostable) hostable_codes_.push_back(regions_[i].code);
  }
}

const Region* RegionCatalog::find(std::string_view code) const {
  auto it = index_.find(code);
  return it == index_.end() ? nullptr : &regions_[it->second];
}

bool RegionCatalog::hostable(std::string_view code) const {
  const Region* r = find(code);
  return r != nullptr && r->hostable;
}

std::optional<std::string> RegionCatalog::nearest_hostable(std::string_view code) const {
  const Region* from = find(code);
  if (from == nullptr) return std::nullopt;
  if (from->hostable) return from->code;
  const Region* best = nullptr;
  double best_km = std::numeric_limits<double>::infinity();
  for (const Region& r : regions_) {
    if (!r.hostable) continue;
    double km = great_circle_km(from->latitude, from->longitude, r.latitude, r.longitude);
    if (km < best_km) {
      best_km = km;
      best = &r;
    }
  }
  if (best == nullptr) return std::nullopt;
  return best->code;
}

double RegionCatalog::distance_km(std::string_view a, std::string_view b) const {
  const Region* ra = find(a);
  const Region* rb = find(b);
  if (ra == nullptr || rb == nullptr) return 70'000.0;
  return great_circle_km(ra->latitude, ra->longitude, rb->latitude, rb->longitude);
}

double RegionCatalog::rtt_ms(std::string_view a, std::string_view b) const {
  if (!measured_rtt_.empty()) {
    auto key = a < b ? std::make_pair(std::string(a), std::string(b))
                     : std::make_pair(std::string(b), std::string(a));
    auto it = measured_rtt_.find(key);
    if (it != measured_rtt_.end()) return it->second;
  }
  if (find(a) == nullptr || find(b) == nullptr) return 1000.0;
  return modelled_rtt_ms(distance_km(a, b));
}

void RegionCatalog::set_measured_rtt(std::string_view a, std::string_view b, double ms) {
  auto key = a < b ? std::make_pair(std::string(a), std::string(b))
                   : std::make_pair(std::string(b), std::string(a));
  measured_rtt_[key] = ms;
  revision_ = next_revision();
}

void RegionCatalog::merge_platform_regions(const std::vector<Region>& from_platform) {
  for (const Region& p : from_platform) {
    auto it = index_.find(p.code);
    if (it == index_.end()) {
      regions_.push_back(p);
    } else {
      Region& r = regions_[it->second];
      r.hostable = p.hostable;
      r.deprecated = p.deprecated;
      if (!p.name.empty()) r.name = p.name;
      if (p.latitude != 0 || p.longitude != 0) {
        r.latitude = p.latitude;
        r.longitude = p.longitude;
      }
    }
  }
  reindex();
}

}  // namespace autoplacer
