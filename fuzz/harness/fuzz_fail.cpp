#include <cstdio>
#include <cstdlib>

#include "harness.h"

namespace autoplacer::fuzz {

void fuzz_fail(const char* file, int line, const char* what) {
  std::fprintf(stderr, "%s:%d: fuzz property violated: %s\n", file, line, what);
  std::abort();
}

}  // namespace autoplacer::fuzz
