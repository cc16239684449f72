// The table of policies under tests/fixtures/policies: every good/*.yaml loads without a single
// diagnostic, and every bad/X.yaml gives exactly the lines of bad/X.expected (file labelled
// "X.yaml"). To add a case, add both files; tests/cli's e2e test runs the same table through
// the binary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "policy/policy_loader.h"

namespace autoplacer {
namespace {

namespace fs = std::filesystem;
using ::testing::IsEmpty;

const fs::path kPolicies = fs::path(AP_TEST_FIXTURES) / "policies";

std::vector<std::string> files_in(const fs::path& dir, const std::string& extension) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == extension) names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::string test_name(std::string file) {
  file = file.substr(0, file.rfind('.'));
  std::replace(file.begin(), file.end(), '-', '_');
  return file;
}

class GoodPolicy : public ::testing::TestWithParam<std::string> {};

TEST_P(GoodPolicy, LoadsWithoutAProblem) {
  LoadResult r = load_policies((kPolicies / "good" / GetParam()).string());
  EXPECT_THAT(r.messages(), IsEmpty());
  EXPECT_FALSE(r.policies.empty());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GoodPolicy,
                         ::testing::ValuesIn(files_in(kPolicies / "good", ".yaml")),
                         [](const auto& param_info) { return test_name(param_info.param); });

class BadPolicy : public ::testing::TestWithParam<std::string> {};

TEST_P(BadPolicy, GivesExactlyTheExpectedDiagnostics) {
  const std::string name = GetParam();
  const fs::path expected_file =
      kPolicies / "bad" / (name.substr(0, name.rfind('.')) + ".expected");
  ASSERT_TRUE(fs::exists(expected_file)) << "missing " << expected_file;
  LoadResult r = load_policies_from_string(read_text(kPolicies / "bad" / name), name);
  EXPECT_EQ(r.messages(), lines_of(read_text(expected_file)));
  EXPECT_TRUE(r.has_errors());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BadPolicy,
                         ::testing::ValuesIn(files_in(kPolicies / "bad", ".yaml")),
                         [](const auto& param_info) { return test_name(param_info.param); });

TEST(PolicyFixtures, TheTableIsComplete) {
  const auto good = files_in(kPolicies / "good", ".yaml");
  const auto bad = files_in(kPolicies / "bad", ".yaml");
  const auto expected = files_in(kPolicies / "bad", ".expected");
  EXPECT_GE(good.size(), 4u);
  EXPECT_GE(bad.size(), 15u);
  ASSERT_EQ(bad.size(), expected.size()) << "every bad/X.yaml needs a bad/X.expected";
  for (std::size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(test_name(bad[i]), test_name(expected[i]));
  }
}

TEST(PolicyFixtures, AllGoodPoliciesTogetherHaveUniqueNames) {
  LoadResult r = load_policies((kPolicies / "good").string());
  EXPECT_THAT(r.messages(), IsEmpty());
  EXPECT_GE(r.policies.size(), 7u);
}

}  // namespace
}  // namespace autoplacer
