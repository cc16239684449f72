// `autoplacer validate FILE|DIR...`: loads policies as the controller would and prints every
// problem (exit 1), or one line per policy (exit 0). Problems go to stderr, summaries to stdout.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command.h"
#include "policy/policy_loader.h"

namespace autoplacer::cli {
namespace {

constexpr std::string_view kUsage =
    R"(Usage: autoplacer validate [options] FILE|DIR...

Checks PlacementPolicy files the way the controller loads them. A FILE may hold several
documents separated by `---`; a DIR stands for its *.yaml and *.yml files (not recursive).
Policy names must be unique across everything given.

Every problem is printed on stderr as
  file:line:col: field.path: message
and the exit code is 1. Without errors, one summary line per policy is printed on stdout and
the exit code is 0. Warnings are printed but do not fail validation.

Options:
  -q, --quiet   print nothing when the policies are valid
  -h, --help    this text

Exit codes: 0 valid, 1 problems found, 2 usage error.)";

std::string join_codes(const std::vector<std::string>& codes) {
  std::string out;
  for (const std::string& c : codes) out += (out.empty() ? "" : ",") + c;
  return out;
}

std::string describe_regions(const RegionsSpec& r) {
  std::string out;
  if (r.allowed.empty()) {
    const std::size_t hostable = RegionCatalog::builtin().hostable_codes().size();
    out = "any hostable";
    if (!r.excluded.empty()) {
      out = std::to_string(hostable - r.excluded.size()) + " of " + std::to_string(hostable) +
            " hostable (excluded " + join_codes(r.excluded) + ")";
    }
  } else {
    std::vector<std::string> usable;
    for (const std::string& c : r.allowed) {
      bool excluded = false;
      for (const std::string& e : r.excluded) excluded = excluded || e == c;
      if (!excluded) usable.push_back(c);
    }
    out = join_codes(usable);
  }
  if (!r.pinned.empty()) out += " (pinned " + join_codes(r.pinned) + ")";
  return out;
}

// One line a person can check at a glance: where, what app, how, where and how many.
std::string summary(const PlacementPolicy& p) {
  const PlacementPolicySpec& s = p.spec;
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(p.specHash));
  return p.sourceFile + ":" + std::to_string(p.sourceLine) + ": " + p.metadata.name + ": app " +
         s.app + "/" + s.processGroup + ", " + to_string(s.mode) + ", " +
         to_string(s.placement.strategy) + ", regions " + describe_regions(s.regions) +
         ", machines " + std::to_string(s.capacity.minTotal) + ".." +
         std::to_string(s.capacity.maxTotal) + ", every " + format_duration(s.traffic.interval) +
         ", spec " + hash;
}

int run_validate(int argc, char** argv) {
  bool quiet = false;
  bool options_done = false;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!options_done && arg == "--") {
      options_done = true;
    } else if (!options_done && (arg == "-q" || arg == "--quiet")) {
      quiet = true;
    } else if (!options_done && arg.size() > 1 && arg.front() == '-') {
      std::fprintf(stderr, "autoplacer validate: unknown option '%s' (see --help)\n", argv[i]);
      return 2;
    } else {
      paths.emplace_back(arg);
    }
  }
  if (paths.empty()) {
    std::fprintf(stderr, "autoplacer validate: no FILE or DIR given (see --help)\n");
    return 2;
  }

  const LoadResult result = load_policies(paths);
  int errors = 0;
  int warnings = 0;
  for (const Diagnostic& d : result.diagnostics) {
    (d.severity == Severity::kError ? errors : warnings) += 1;
    std::fprintf(stderr, "%s\n", d.to_string().c_str());
  }
  if (errors > 0) {
    std::fprintf(stderr, "autoplacer validate: %d error%s, %d warning%s\n", errors,
                 errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
    return 1;
  }
  if (!quiet) {
    for (const PlacementPolicy& p : result.policies) std::printf("%s\n", summary(p).c_str());
  }
  return 0;
}

const CommandRegistration kRegistration{{"validate",
                                         "check PlacementPolicy files; every problem with its "
                                         "position",
                                         kUsage, run_validate}};

}  // namespace
}  // namespace autoplacer::cli
