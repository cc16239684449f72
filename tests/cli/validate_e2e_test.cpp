// The built `autoplacer` binary: --help, --version, `validate --help`, and `validate` on the
// policy fixture table and the shipped policies, checking exit codes and the exact output.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

const std::string kBinary = std::string(AP_BINARY_DIR) + "/src/cli/autoplacer";
const fs::path kPolicies = fs::path(AP_SOURCE_DIR) / "tests" / "fixtures" / "policies";

struct Outcome {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs the binary with `args` (already quoted) in `cwd`; stdout and stderr apart.
Outcome run(const std::string& args, const fs::path& cwd = fs::current_path()) {
  static int counter = 0;
  const fs::path err_file =
      fs::temp_directory_path() /
      ("ap-validate-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".err");
  const std::string cmd = "cd " + shell_quote(cwd.string()) + " && " + shell_quote(kBinary) + " " +
                          args + " 2>" + shell_quote(err_file.string());
  Outcome r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0;)
    r.out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = read_text(err_file);
  fs::remove(err_file);
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

TEST(AutoplacerCli, HelpListsTheCommands) {
  Outcome r = run("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("Usage: autoplacer COMMAND"));
  EXPECT_THAT(r.out, HasSubstr("validate"));
  EXPECT_EQ(run("-h").exit_code, 0);
}

TEST(AutoplacerCli, VersionPrintsTheVersion) {
  Outcome r = run("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, ::testing::StartsWith("autoplacer "));
}

TEST(AutoplacerCli, UnknownCommandIsAUsageError) {
  Outcome r = run("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command 'frobnicate'"));
}

TEST(AutoplacerValidate, HelpDescribesTheCommand) {
  for (const char* flag : {"--help", "-h"}) {
    Outcome r = run(std::string("validate ") + flag);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_THAT(r.out, HasSubstr("Usage: autoplacer validate"));
    EXPECT_THAT(r.out, HasSubstr("file:line:col: field.path: message"));
  }
}

TEST(AutoplacerValidate, HelpCommandGivesTheSameText) {
  Outcome r = run("help validate");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, run("validate --help").out);
  EXPECT_EQ(run("help frobnicate").exit_code, 2);
}

TEST(AutoplacerValidate, UsageErrorsExitTwo) {
  EXPECT_EQ(run("validate").exit_code, 2);
  Outcome r = run("validate --frob x.yaml");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown option '--frob'"));
}

TEST(AutoplacerValidate, GoodPoliciesPrintOneLinePerPolicy) {
  Outcome r = run("validate good", kPolicies);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const auto lines = lines_of(r.out);
  EXPECT_EQ(lines.size(), 7u) << r.out;
  EXPECT_THAT(r.out, HasSubstr("good/minimal.yaml:2: minimal: app minimal-app/app, enforce, "
                               "latency, regions any hostable, machines 1..20, every 30s, spec "));
  EXPECT_THAT(r.out, HasSubstr("good/multi-doc.yaml:11: multi-b: app multi-app/worker, "
                               "forecastOnly"));
  EXPECT_THAT(r.out, HasSubstr("regions ams,cdg,fra,lhr,iad (pinned fra,iad)"));
}

TEST(AutoplacerValidate, QuietPrintsNothingWhenValid) {
  Outcome r = run("validate -q good/minimal.yaml", kPolicies);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
}

TEST(AutoplacerValidate, ShippedPoliciesAreValid) {
  Outcome r = run("validate deploy/policies", AP_SOURCE_DIR);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, HasSubstr("deploy/policies/demo.yaml:"));
  EXPECT_THAT(r.out, HasSubstr(": demo: app demo/app, enforce, latency,"));
}

// The same table as tests/policy/loader_table_test.cpp, through the binary: the exact lines of
// X.expected on stderr, then the count, exit 1, nothing on stdout.
TEST(AutoplacerValidate, EveryBadFixtureGivesItsExpectedProblems) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(kPolicies / "bad")) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string name = entry.path().filename().string();
    fs::path expected_file = entry.path();
    expected_file.replace_extension(".expected");
    const auto expected = lines_of(read_text(expected_file));
    Outcome r = run("validate " + shell_quote(name), kPolicies / "bad");
    EXPECT_EQ(r.exit_code, 1) << name;
    EXPECT_EQ(r.out, "") << name;
    auto lines = lines_of(r.err);
    ASSERT_FALSE(lines.empty()) << name;
    EXPECT_THAT(lines.back(), ::testing::MatchesRegex("autoplacer validate: [0-9]+ errors?, [0-9]+ "
                                                      "warnings?"))
        << name;
    lines.pop_back();
    EXPECT_THAT(lines, ElementsAreArray(expected)) << name;
    ++checked;
  }
  EXPECT_GE(checked, 15);
}

TEST(AutoplacerValidate, ProblemsInOneOfSeveralPathsFailTheWholeRun) {
  Outcome r = run("validate good/minimal.yaml bad/names.yaml missing.yaml", kPolicies);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("bad/names.yaml:5:9: metadata.name: invalid name"));
  EXPECT_THAT(r.err, HasSubstr("missing.yaml: no such file or directory"));
  EXPECT_THAT(r.err, HasSubstr("autoplacer validate: 3 errors, 0 warnings"));
}

TEST(AutoplacerValidate, DuplicateNamesAcrossFilesAreFound) {
  // good/ and good/minimal.yaml again: every policy of minimal.yaml is a duplicate.
  Outcome r = run("validate good good/minimal.yaml", kPolicies);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("good/minimal.yaml:5:9: metadata.name: duplicate policy name "
                               "\"minimal\"; first defined at good/minimal.yaml:5:9"));
}

}  // namespace
