#pragma once
// The router the HTTP fuzz harnesses dispatch to: patterns shaped like the ones the project
// serves (the controller's endpoints, flysim's Machines API subset), with handlers that read
// path and query parameters and the body the way real handlers do, and one that throws.
#include "net/router.h"

namespace autoplacer::fuzz {

net::Router make_fuzz_router();

}  // namespace autoplacer::fuzz
