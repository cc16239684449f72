#include "common/log.h"

#include <gtest/gtest.h>

namespace autoplacer::log {
namespace {

TEST(Redact, MasksEveryRegisteredSecret) {
  register_secret("fm2_supersecrettoken");
  EXPECT_EQ(redact("Authorization: FlyV1 fm2_supersecrettoken and again fm2_supersecrettoken"),
            "Authorization: FlyV1 [REDACTED] and again [REDACTED]");
}

TEST(Redact, IgnoresTooShortValues) {
  register_secret("abc");
  EXPECT_EQ(redact("abc abc"), "abc abc");
}

}  // namespace
}  // namespace autoplacer::log
