#include "net/http_date.h"

#include <cstdio>
#include <vector>

namespace autoplacer::net {

namespace {

std::string_view trimmed(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return value;
}

std::optional<int> digits(std::string_view s, std::size_t min_len, std::size_t max_len) {
  if (s.size() < min_len || s.size() > max_len) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

constexpr std::string_view kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::string_view kLongDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                          "Thursday", "Friday", "Saturday"};
constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

template <std::size_t N>
bool one_of(std::string_view s, const std::string_view (&names)[N]) {
  for (auto n : names)
    if (s == n) return true;
  return false;
}

std::optional<unsigned> month_number(std::string_view s) {
  for (unsigned i = 0; i < 12; ++i)
    if (s == kMonths[i]) return i + 1;
  return std::nullopt;
}

// "08:49:37"
std::optional<std::chrono::seconds> time_of_day(std::string_view s) {
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return std::nullopt;
  auto h = digits(s.substr(0, 2), 2, 2);
  auto m = digits(s.substr(3, 2), 2, 2);
  auto sec = digits(s.substr(6, 2), 2, 2);
  if (!h || !m || !sec || *h > 23 || *m > 59 || *sec > 60) return std::nullopt;
  return std::chrono::seconds(*h * 3600 + *m * 60 + *sec);
}

std::optional<TimePoint> make_time(int year, unsigned month, int day, std::chrono::seconds tod) {
  const std::chrono::year_month_day ymd{std::chrono::year(year), std::chrono::month(month),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::time_point_cast<Duration>(std::chrono::sys_days(ymd) + tod);
}

}  // namespace

std::optional<TimePoint> parse_http_date(std::string_view value) {
  const auto w = words(trimmed(value));
  if (w.size() == 6) {  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    if (!w[0].ends_with(',') || !one_of(w[0].substr(0, w[0].size() - 1), kDays)) return {};
    auto day = digits(w[1], 1, 2);
    auto month = month_number(w[2]);
    auto year = digits(w[3], 4, 4);
    auto tod = time_of_day(w[4]);
    if (!day || !month || !year || !tod || w[5] != "GMT") return std::nullopt;
    return make_time(*year, *month, *day, *tod);
  }
  if (w.size() == 4) {  // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
    if (!w[0].ends_with(',') || !one_of(w[0].substr(0, w[0].size() - 1), kLongDays)) return {};
    const std::string_view d = w[1];
    if (d.size() != 9 || d[2] != '-' || d[6] != '-') return std::nullopt;
    auto day = digits(d.substr(0, 2), 2, 2);
    auto month = month_number(d.substr(3, 3));
    auto yy = digits(d.substr(7, 2), 2, 2);
    auto tod = time_of_day(w[2]);
    if (!day || !month || !yy || !tod || w[3] != "GMT") return std::nullopt;
    // Two-digit years: RFC 9110 says to pick the most recent past century; 1970..2069 is the
    // reading that agrees with that for any clock this program will run under.
    const int year = *yy >= 70 ? 1900 + *yy : 2000 + *yy;
    return make_time(year, *month, *day, *tod);
  }
  if (w.size() == 5) {  // asctime: Sun Nov  6 08:49:37 1994
    if (!one_of(w[0], kDays)) return std::nullopt;
    auto month = month_number(w[1]);
    auto day = digits(w[2], 1, 2);
    auto tod = time_of_day(w[3]);
    auto year = digits(w[4], 4, 4);
    if (!day || !month || !year || !tod) return std::nullopt;
    return make_time(*year, *month, *day, *tod);
  }
  return std::nullopt;
}

std::string format_http_date(TimePoint t) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  const auto days = std::chrono::floor<std::chrono::days>(secs);
  const std::chrono::year_month_day ymd{days};
  const std::chrono::hh_mm_ss hms{secs - days};
  const unsigned wd = std::chrono::weekday(days).c_encoding();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3s, %02u %.3s %04d %02d:%02d:%02d GMT", kDays[wd].data(),
                static_cast<unsigned>(ymd.day()),
                kMonths[static_cast<unsigned>(ymd.month()) - 1].data(),
                static_cast<int>(ymd.year()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buf;
}

}  // namespace autoplacer::net
