#include "common/duration.h"

#include <gtest/gtest.h>

namespace autoplacer {
namespace {

using namespace std::chrono_literals;

TEST(ParseDuration, AcceptsEveryUnitAndCombinations) {
  EXPECT_EQ(parse_duration("500ms"), Duration{500});
  EXPECT_EQ(parse_duration("30s"), Duration{30s});
  EXPECT_EQ(parse_duration("5m"), Duration{5min});
  EXPECT_EQ(parse_duration("1h30m"), Duration{90min});
  EXPECT_EQ(parse_duration("2d"), Duration{48h});
  EXPECT_EQ(parse_duration("1m30s250ms"), Duration{90250});
  EXPECT_EQ(parse_duration("0"), Duration{0});
  EXPECT_EQ(parse_duration("0s"), Duration{0});
}

TEST(ParseDuration, RejectsWhatDoesNotParse) {
  for (const char* bad :
       {"", "5", "-5s", "5x", "s", "1.5s", "5 s", "1h-30m", "99999999999999999999s"}) {
    EXPECT_EQ(parse_duration(bad), std::nullopt) << bad;
  }
}

TEST(FormatDuration, RoundTrips) {
  for (const char* text : {"0s", "250ms", "30s", "5m", "1h30m", "1d2h"}) {
    auto d = parse_duration(text);
    ASSERT_TRUE(d.has_value()) << text;
    EXPECT_EQ(format_duration(*d), text);
  }
}

}  // namespace
}  // namespace autoplacer
