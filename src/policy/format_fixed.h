#pragma once
// printf("%.Nf") for the reason messages of the decision core, exactly as printf rounds (the exact
// binary value, ties to even), and much faster than glibc's printf or std::to_chars for the small
// precisions used there. A pass writes one or two numbers per region.
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

namespace autoplacer {

// The values format_fixed writes (with a precision of 0..2).
inline bool fixed_fits(double x) {
  return std::isfinite(x) && std::fabs(x) < 1e15;
}

// Writes x with `precision` decimals, as std::to_chars(..., fixed, precision) and printf do, for
// precision 0..2 and |x| < 1e15, into `out` (room for 32 chars); returns the length, or 0 (writing
// nothing) for anything else.
inline std::size_t format_fixed(char* out, double x, int precision) {
  // Fast path, precision 0..2, in integers: x = m * 2^e exactly (m < 2^53), so x * 10^precision
  // is m * 10^precision (< 2^60) times a power of two, and rounding that to an integer (ties to
  // even, as printf rounds the exact value) is a shift and a look at the bits shifted out. No
  // floating-point rounding call (libm's long double nearbyint was most of a message's cost).
  if (precision < 0 || precision > 2 || !fixed_fits(x)) return 0;
  static constexpr std::uint64_t kScale[] = {1, 10, 100};
  const auto bits = std::bit_cast<std::uint64_t>(x);
  const auto biased = static_cast<int>((bits >> 52) & 0x7ff);
  const std::uint64_t fraction = bits & ((std::uint64_t{1} << 52) - 1);
  const std::uint64_t m = biased == 0 ? fraction : fraction | (std::uint64_t{1} << 52);
  const int e = biased == 0 ? -1074 : biased - 1075;
  const std::uint64_t product = m * kScale[precision];  // < 2^60
  std::uint64_t q = 0;
  if (e >= 0) {
    q = product << e;  // |x| < 1e15: below 2^57
  } else if (-e <= 60) {
    const int s = -e;
    q = product >> s;
    const std::uint64_t rest = product & ((std::uint64_t{1} << s) - 1);
    const std::uint64_t half = std::uint64_t{1} << (s - 1);
    if (rest > half || (rest == half && (q & 1) != 0)) ++q;
  }  // else below 2^60 / 2^61: under one half, rounds to 0
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
  const auto n = static_cast<std::size_t>(end - p);
  std::memcpy(out, p, n);
  return n;
}

// The same, appended to `out`; false (appending nothing) where format_fixed writes nothing.
inline bool append_fixed(std::string& out, double x, int precision) {
  char buf[32];
  const std::size_t n = format_fixed(buf, x, precision);
  out.append(buf, n);
  return n > 0;
}

}  // namespace autoplacer
