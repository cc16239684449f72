// Retry-After in both forms RFC 9110 allows (delta seconds and HTTP-date), and the HTTP-date
// parser and formatter behind it. Pure: `now` is passed in.
#include <gtest/gtest.h>

#include "fly/errors.h"
#include "net/http_date.h"

namespace autoplacer::fly {
namespace {
using namespace std::chrono_literals;
using std::chrono::milliseconds;

// Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example.
const TimePoint kRfcExample = from_unix_seconds(784111777);

TEST(HttpDate, ParsesAllThreeForms) {
  EXPECT_EQ(net::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), kRfcExample);
  EXPECT_EQ(net::parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), kRfcExample);
  EXPECT_EQ(net::parse_http_date("Sun Nov  6 08:49:37 1994"), kRfcExample);
  EXPECT_EQ(net::parse_http_date("  Sun, 06 Nov 1994 08:49:37 GMT "), kRfcExample);
  EXPECT_EQ(net::parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), TimePoint{});
  EXPECT_EQ(net::parse_http_date("Thursday, 01-Jan-26 00:00:00 GMT"),
            from_unix_seconds(1767225600));  // two-digit years: 2026, not 1926
}

TEST(HttpDate, RejectsNearMisses) {
  for (const char* bad : {
           "",
           "GMT",
           "Sun, 06 Nov 1994 08:49:37",         // no zone
           "Sun, 06 Nov 1994 08:49:37 PST",     // only GMT
           "Sun, 06 Foo 1994 08:49:37 GMT",     // month
           "Sun, 31 Feb 1994 08:49:37 GMT",     // no such day
           "Sun, 06 Nov 1994 24:00:00 GMT",     // hour
           "Sun, 06 Nov 1994 08:60:00 GMT",     // minute
           "Sun, 06 Nov 94 08:49:37 GMT",       // two-digit year in the fixdate form
           "Sun 06 Nov 1994 08:49:37 GMT",      // comma
           "Xyz, 06 Nov 1994 08:49:37 GMT",     // day name
           "Sun, 06 Nov 1994 8:49:37 GMT",      // two-digit hour
           "Sunday, 06-Nov-1994 08:49:37 GMT",  // four-digit year in the RFC 850 form
           "Sun Nov  6 08:49:37",               // asctime without year
           "1994-11-06T08:49:37Z",              // RFC 3339 is not an HTTP-date
           "Sun, 06 Nov 1994 08:49:37 GMT extra",
       }) {
    EXPECT_FALSE(net::parse_http_date(bad).has_value()) << bad;
  }
}

TEST(HttpDate, FormatsImfFixdateAndRoundTrips) {
  EXPECT_EQ(net::format_http_date(kRfcExample), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(net::format_http_date(kRfcExample + 999ms), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(net::format_http_date(TimePoint{}), "Thu, 01 Jan 1970 00:00:00 GMT");
  for (std::int64_t s : {0LL, 951782400LL, 1700000000LL, 4102444799LL}) {  // incl. 29 Feb 2000
    const TimePoint t = from_unix_seconds(static_cast<double>(s));
    EXPECT_EQ(net::parse_http_date(net::format_http_date(t)), t) << s;
  }
}

TEST(RetryAfter, DeltaSecondsAndDates) {
  const TimePoint now = kRfcExample;
  EXPECT_EQ(parse_retry_after("7", now), milliseconds(7000));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), milliseconds(10000));
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", now), milliseconds(60000));
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:38 1994", now + 250ms), milliseconds(750));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:30 GMT", now), milliseconds(0));  // past
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 2094 08:49:37 GMT", now), milliseconds(3600000));
  EXPECT_FALSE(parse_retry_after("soon", now).has_value());
  EXPECT_FALSE(parse_retry_after("Sun, 31 Nov 1994 08:49:37 GMT", now).has_value());
  // Without a clock a date cannot be turned into a wait.
  EXPECT_FALSE(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT").has_value());
}

TEST(RetryAfter, FromResponseUsesTheClockForDates) {
  net::Response res{net::http::status::too_many_requests, 11};
  res.set(net::http::field::retry_after, "Sun, 06 Nov 1994 08:49:40 GMT");
  res.body() = R"({"error":"rate limit exceeded"})";
  const FlyError e = from_response(res, kRfcExample);
  EXPECT_EQ(e.kind, FlyError::Kind::kRateLimited);
  EXPECT_EQ(e.retry_after, milliseconds(3000));
  EXPECT_FALSE(from_response(res).retry_after.has_value());
  res.set(net::http::field::retry_after, "2");
  EXPECT_EQ(from_response(res, kRfcExample).retry_after, milliseconds(2000));
}

}  // namespace
}  // namespace autoplacer::fly
