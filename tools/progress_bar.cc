#include "progress_bar.h"

#include <unistd.h>

#include <cstdio>

namespace mlxlm::cli {

ProgressBar::ProgressBar(std::string label, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), enabled_(::isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(int64_t done, int64_t total) {
  if (!enabled_ || total <= 0) return;
  double now = timer_.seconds();
  if (done < total && now - last_draw_ < 0.1) return;
  last_draw_ = now;
  constexpr int kWidth = 30;
  int filled = static_cast<int>(kWidth * done / total);
  std::string bar(filled, '#');
  bar.append(kWidth - filled, '.');
  double rate = now > 0 ? static_cast<double>(done) / now : 0;
  std::fprintf(stderr, "\r%s [%s] %lld/%lld (%.1f %s)", label_.c_str(), bar.c_str(),
               static_cast<long long>(done), static_cast<long long>(total), rate, unit_.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (drawn_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace mlxlm::cli
