#include "backtest/progress.h"

#include <unistd.h>

#include <algorithm>

namespace autoplacer::backtest {

ProgressBar::ProgressBar(std::FILE* out, std::size_t total, bool enabled)
    : out_(out),
      total_(std::max<std::size_t>(total, 1)),
      active_(enabled && out != nullptr && isatty(fileno(out)) != 0) {}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::label(std::string text) {
  label_ = std::move(text);
  shown_percent_ = -1;
  draw();
}

void ProgressBar::tick(std::size_t n) {
  done_ = std::min(total_, done_ + n);
  draw();
}

void ProgressBar::draw() {
  if (!active_) return;
  const int percent = static_cast<int>(done_ * 100 / total_);
  if (percent == shown_percent_) return;
  shown_percent_ = percent;
  constexpr int kWidth = 30;
  const int filled = percent * kWidth / 100;
  std::fprintf(out_, "\r[%.*s%.*s] %3d%%  %-12s", filled, "##############################",
               kWidth - filled, "..............................", percent, label_.c_str());
  std::fflush(out_);
}

void ProgressBar::finish() {
  if (!active_) return;
  std::fprintf(out_, "\r%*s\r", 60, "");
  std::fflush(out_);
  active_ = false;
}

}  // namespace autoplacer::backtest
