#pragma once
// Lists the inputs a fuzz target's harness must survive: its committed corpus
// (fuzz/corpus/<target>) and the crashes turned into regressions (tests/fuzz_regressions/inputs).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace autoplacer::fuzz {

inline std::vector<std::filesystem::path> corpus_files(const std::string& target) {
  namespace fs = std::filesystem;
  std::vector<fs::path> out;
  for (const fs::path& dir :
       {fs::path(AP_SOURCE_DIR) / "fuzz" / "corpus" / target,
        fs::path(AP_SOURCE_DIR) / "tests" / "fuzz_regressions" / "inputs" / target}) {
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.is_regular_file()) out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace autoplacer::fuzz
