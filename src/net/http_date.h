#pragma once
// HTTP-date (RFC 9110 section 5.6.7), as in Retry-After, Date and Expires headers.
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace autoplacer::net {

// Any of the three forms recipients must accept: IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT",
// the obsolete RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime "Sun Nov  6 08:49:37 1994".
// Anything else (including an impossible date such as 31 Feb) gives nullopt.
std::optional<TimePoint> parse_http_date(std::string_view value);

// IMF-fixdate, the only form a sender may generate. Sub-second parts are dropped.
std::string format_http_date(TimePoint t);

}  // namespace autoplacer::net
