// The libFuzzer entry point of one target; AP_FUZZ_HARNESS names the harness function (see
// fuzz/CMakeLists.txt), so every target is this file plus its harness.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>

#include "harness/harness.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // parsers may log what they reject
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  autoplacer::fuzz::AP_FUZZ_HARNESS(autoplacer::fuzz::as_view(data, size));
  return 0;
}
