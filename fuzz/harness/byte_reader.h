#pragma once
// Turns fuzzer bytes into structured choices (like clang's FuzzedDataProvider, which gcc builds of
// the regression tests do not have). Reading past the end yields zeros, so every input, even an
// empty one, describes a complete case.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace autoplacer::fuzz {

class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  std::uint8_t byte() {
    return pos_ < data_.size() ? static_cast<std::uint8_t>(data_[pos_++]) : std::uint8_t{0};
  }
  bool coin() { return (byte() & 1u) != 0; }
  // A value in [lo, hi] (hi - lo < 65536).
  int in_range(int lo, int hi) {
    const unsigned span = static_cast<unsigned>(hi - lo) + 1u;
    const unsigned raw = (static_cast<unsigned>(byte()) << 8) | byte();
    return lo + static_cast<int>(raw % span);
  }
  bool empty() const { return pos_ >= data_.size(); }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

}  // namespace autoplacer::fuzz
