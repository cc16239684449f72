// What the machines_api fuzzer found in the Machines API parsers (fly/models.h).
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "corpus_files.h"
#include "fly/models.h"

namespace autoplacer::fly {
namespace {

std::string input(const char* name) {
  return fuzz::read_file(std::filesystem::path(AP_SOURCE_DIR) /
                         "tests/fuzz_regressions/inputs/machines_api" / name);
}

// Found by machines_api_fuzz: a number too large for a double in a machine's config
// ("mo": 171451e30857700) was read by Boost.JSON as infinity and written back as `Infinity`,
// which is not JSON, so a clone request built from it would have been refused by the API.
// The body is refused now, with an error naming the cause.
TEST(FuzzRegressionMachines, HugeNumberInConfigIsAnError) {
  const std::string body = input("number-overflows-to-infinity");
  ASSERT_FALSE(body.empty());
  auto m = machine_from_body(body);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().find("out of range"), std::string::npos) << m.error();
}

}  // namespace
}  // namespace autoplacer::fly
