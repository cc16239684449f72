// autoplacer run: the controller as a long-running service (controller/service.h).
#include <cstdio>
#include <string>

#include "cli/command.h"
#include "controller/ha_options.h"
#include "controller/service.h"

namespace autoplacer::cli {
namespace {

const std::string& run_usage() {
  static const std::string text =
      std::string(
          "Usage: autoplacer run [--policy FILE|DIR] [options]\n\n"
          "Reconciles every policy continuously: observes machines and demand, decides, applies.\n"
          "With FLY_API_TOKEN it manages your Fly app; without one it starts an embedded\n"
          "simulated Fly (flysim) replaying a day of traffic around the world, so you can watch\n"
          "machines follow the users. Stop with Ctrl-C (SIGINT) or SIGTERM.\n\n") +
      controller::service_options_help() + "\n" + controller::ha_options_help();
  return text;
}

int run_main(int argc, char** argv) {
  auto options = controller::parse_service_args(argc, argv);
  if (!options) {
    std::fprintf(stderr, "autoplacer run: %s\n", options.error().c_str());
    return 2;
  }
  controller::Service service(std::move(*options));
  return service.run();
}

const CommandRegistration kRegistration{
    Command{"run", "reconcile policies continuously (embedded flysim without FLY_API_TOKEN)",
            run_usage(), &run_main}};

}  // namespace
}  // namespace autoplacer::cli
