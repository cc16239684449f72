#include "policy/threshold.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "policy/format_fixed.h"

namespace autoplacer {
namespace {

// "<prefix>Current avg: %.2f, Long-term avg: %.2f". A threshold pass writes one per region, and
// glibc's float formatting was a fifth of the pass: std::to_chars rounds exactly as printf does.
std::string with_averages(const char* prefix, double short5, double long5) {
  // Written on the stack, then one string of the exact size (one allocation per message).
  char text[256];
  std::size_t used = 0;
  auto put = [&](const char* from, std::size_t n) {
    n = std::min(n, sizeof text - used);
    std::memcpy(text + used, from, n);
    used += n;
  };
  auto append = [&](double x) {
    char buf[64];
    if (const std::size_t n = format_fixed(buf, x, 2); n > 0) {
      put(buf, n);
      return;
    }
    const auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::fixed, 2);
    if (r.ec == std::errc{}) {
      put(buf, static_cast<std::size_t>(r.ptr - buf));
    } else {
      std::snprintf(buf, sizeof buf, "%.2f", x);
      put(buf, std::strlen(buf));
    }
  };
  put(prefix, std::strlen(prefix));
  put("Current avg: ", 13);
  append(short5);
  put(", Long-term avg: ", 17);
  append(long5);
  return std::string(text, used);
}

}  // namespace

ThresholdVerdict threshold_verdict(const PlacementSpec& placement, double targetPerMachine,
                                   int current, double shortRps, double longRps, bool cooling) {
  ThresholdVerdict v;
  const double short5 = shortRps * kSecondsPer5Min;
  const double long5 = longRps * kSecondsPer5Min;
  const bool deployed = current > 0;
  if (cooling) {
    v.proposed = current;
    v.reason = ReasonCode::kCooldown;
    v.message = with_averages("Region is in cooldown after its last change. ", short5, long5);
    return v;
  }
  if (short5 >= placement.trafficThreshold && short5 > long5) {
    const double per = targetPerMachine > 0 ? targetPerMachine : 1.0;
    v.proposed = std::max(1, static_cast<int>(std::ceil(shortRps / per - 1e-9)));
    v.reason = ReasonCode::kThresholdDeploy;
    v.message = with_averages("Traffic meets the adaptive thresholds. ", short5, long5);
    v.acted = v.proposed != current;
    return v;
  }
  if (deployed && short5 <= placement.removeThreshold && short5 < long5) {
    v.proposed = 0;
    v.reason = ReasonCode::kThresholdRemove;
    v.message = with_averages("Traffic fell to the remove threshold. ", short5, long5);
    v.acted = true;
    return v;
  }
  v.proposed = current;
  v.reason = ReasonCode::kThresholdBelow;
  v.message = with_averages("Traffic does not meet adaptive thresholds. ", short5, long5);
  return v;
}

}  // namespace autoplacer
