// In the test suite a broken fuzz property becomes a test failure naming the input, not an
// abort: the harnesses' fuzz_fail throws here (the fuzzers link fuzz/harness/fuzz_fail.cpp).
#include <stdexcept>
#include <string>

#include "harness/harness.h"

namespace autoplacer::fuzz {

void fuzz_fail(const char* file, int line, const char* what) {
  throw std::logic_error(std::string(file) + ":" + std::to_string(line) +
                         ": fuzz property violated: " + what);
}

}  // namespace autoplacer::fuzz
