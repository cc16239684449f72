// autoplacer: places a Fly.io app's Machines where its users are.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "cli/command.h"
#include "cli/version.h"

namespace autoplacer::cli {

std::vector<Command>& commands() {
  static std::vector<Command> all;
  return all;
}

bool wants_help(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

namespace {

void print_usage() {
  auto& all = commands();
  std::sort(all.begin(), all.end(),
            [](const Command& a, const Command& b) { return a.name < b.name; });
  std::printf(
      "autoplacer %s: places a Fly.io app's Machines in the regions where its users are.\n\n"
      "Usage: autoplacer COMMAND [options]\n\nCommands:\n",
      kVersion);
  for (const Command& c : all) {
    std::printf("  %-10.*s %.*s\n", static_cast<int>(c.name.size()), c.name.data(),
                static_cast<int>(c.summary.size()), c.summary.data());
  }
  std::printf(
      "\nGlobal options:\n  --help, -h   this text; `autoplacer COMMAND --help` for a command's\n"
      "  --version    print the version\n");
}

}  // namespace
}  // namespace autoplacer::cli

int main(int argc, char** argv) {
  using namespace autoplacer::cli;
  if (argc < 2) {
    print_usage();
    return 2;
  }
  std::string_view first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") {
    // `autoplacer help COMMAND` is `autoplacer COMMAND --help`.
    if (argc > 2) {
      for (const Command& c : commands()) {
        if (c.name == argv[2]) {
          std::printf("%.*s\n", static_cast<int>(c.usage.size()), c.usage.data());
          return 0;
        }
      }
      std::fprintf(stderr, "autoplacer: unknown command '%s' (see autoplacer --help)\n", argv[2]);
      return 2;
    }
    print_usage();
    return 0;
  }
  if (first == "--version" || first == "version") {
    std::printf("autoplacer %s\n", kVersion);
    return 0;
  }
  for (const Command& c : commands()) {
    if (c.name == first) {
      if (wants_help(argc - 1, argv + 1)) {
        std::printf("%.*s\n", static_cast<int>(c.usage.size()), c.usage.data());
        return 0;
      }
      return c.run(argc - 1, argv + 1);
    }
  }
  std::fprintf(stderr, "autoplacer: unknown command '%s' (see autoplacer --help)\n", argv[1]);
  return 2;
}
