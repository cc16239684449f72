#pragma once
// printf("%.Nf") for the reason messages of the decision core, exactly as printf rounds (the exact
// binary value, ties to even), and much faster than glibc's printf or std::to_chars for the small
// precisions used there. A pass writes one or two numbers per region.
#include <cmath>
#include <cstdint>
#include <string>

namespace autoplacer {

// Appends x with `precision` decimals, as std::to_chars(..., fixed, precision) and printf do, for
// precision 0..2 and |x| < 1e15; returns false (appending nothing) for anything else.
inline bool append_fixed(std::string& out, double x, int precision) {
  // Fast path, precision 0..2: x * 10^precision is exact in an x87 long double (a 53-bit mantissa
  // times at most 100 needs 60 bits of the 64), so rounding it to an integer (ties to even, the
  // default mode) rounds the exact value, as printf does.
  static_assert(sizeof(long double) >= 10, "needs the 64-bit mantissa of x87 long double");
  if (precision >= 0 && precision <= 2 && std::isfinite(x) && std::fabs(x) < 1e15) {
    static constexpr int kScale[] = {1, 10, 100};
    const long double scaled = std::fabs(static_cast<long double>(x)) * kScale[precision];
    const auto q = static_cast<std::uint64_t>(std::nearbyint(scaled));
    char buf[32];
    char* end = buf + sizeof buf;
    char* p = end;
    std::uint64_t v = q;
    for (int i = 0; i < precision; ++i) {
      *--p = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    if (precision > 0) *--p = '.';
    do {
      *--p = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    if (std::signbit(x)) *--p = '-';
    out.append(p, end);
    return true;
  }
  return false;
}

}  // namespace autoplacer
