#pragma once
// A one-line progress bar for long runs, drawn on a terminal only (never into a pipe or a log):
// "[#########.........]  45%  policy". Redraws at most once per percent.
#include <cstddef>
#include <cstdio>
#include <string>

namespace autoplacer::backtest {

class ProgressBar {
 public:
  // Draws on `out` only when it is a terminal and `enabled`.
  ProgressBar(std::FILE* out, std::size_t total, bool enabled);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void label(std::string text);
  void tick(std::size_t n = 1);
  void finish();  // clears the line
  bool active() const { return active_; }

 private:
  void draw();

  std::FILE* out_;
  std::size_t total_;
  std::size_t done_ = 0;
  int shown_percent_ = -1;
  bool active_;
  std::string label_;
};

}  // namespace autoplacer::backtest
