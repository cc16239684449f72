// autoplacer plan: one pass per policy that changes nothing and prints what it would do, like
// `terraform plan`. Exit code 0: no changes, 2: changes, 1: error.
#include <cstdio>
#include <string>

#include "cli/command.h"
#include "controller/service.h"

namespace autoplacer::cli {
namespace {

int plan_main(int argc, char** argv) {
  auto options = controller::parse_service_args(argc, argv);
  if (!options) {
    std::fprintf(stderr, "autoplacer plan: %s\n", options.error().c_str());
    return 1;
  }
  options->demo_summary = false;
  if (options->log_level == "info") options->log_level = "warn";
  controller::Service service(std::move(*options));
  return service.plan();
}

const CommandRegistration kRegistration{
    Command{"plan", "print the changes one pass would make (exit 2 if any, 0 if none, 1 on error)",
            "Usage: autoplacer plan --policy FILE|DIR [options]\n\n"
            "One pass per policy that observes and decides but changes nothing; prints the plan.\n"
            "Exit code: 0 no changes, 2 changes, 1 error. Options as for `autoplacer run`\n"
            "(see `autoplacer run --help`).",
            &plan_main}};

}  // namespace
}  // namespace autoplacer::cli
