#pragma once
// Sub-commands of the autoplacer executable. Each lives in its own src/cli/*_cmd.cpp and registers
// itself with a static CommandRegistration; main.cpp only dispatches.
#include <string>
#include <string_view>
#include <vector>

namespace autoplacer::cli {

struct Command {
  std::string_view name;     // "validate"
  std::string_view summary;  // one line for `autoplacer --help`
  std::string_view usage;    // the full help text for `autoplacer NAME --help`
  // argv[0] is the command name; returns the process exit code.
  int (*run)(int argc, char** argv);
};

std::vector<Command>& commands();

struct CommandRegistration {
  explicit CommandRegistration(Command c) { commands().push_back(c); }
};

// True when argv holds --help or -h (every command answers both the same way).
bool wants_help(int argc, char** argv);

}  // namespace autoplacer::cli
