#include "decode_floor.h"

#include <algorithm>
#include <numeric>

#include "base/timer.h"
#include "kernels/weight_stream.h"

namespace mlxlm::cli {
namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  if (v.size() % 2 == 1) return *mid;
  return (*mid + *std::max_element(v.begin(), mid)) / 2;
}

}  // namespace

DecodeFloor::DecodeFloor(const Model& model)
    : weights_(model.step_weights()),
      kv_bytes_per_token_(static_cast<double>(model.info().kv_bytes_per_token)) {
  for (const auto& w : weights_) weight_bytes_ += static_cast<double>(kernels::weight_bytes(w));
}

void DecodeFloor::read_after_step(double step_seconds, int64_t context) {
  Timer timer;
  sink_ += kernels::stream_weights(weights_);
  const double bandwidth = weight_bytes_ / timer.seconds();
  const double bytes = weight_bytes_ + kv_bytes_per_token_ * static_cast<double>(context);
  bandwidth_.push_back(bandwidth);
  step_bytes_.push_back(bytes);
  floor_tps_.push_back(bandwidth / bytes);
  share_.push_back(bytes / bandwidth / step_seconds);
}

DecodeFloor::Summary DecodeFloor::take_summary() {
  Summary s;
  s.steps = static_cast<int>(share_.size());
  if (s.steps > 0) {
    s.bandwidth = median(bandwidth_);
    s.step_bytes = std::accumulate(step_bytes_.begin(), step_bytes_.end(), 0.0) / s.steps;
    s.floor_tps = median(floor_tps_);
    s.share = median(share_);
  }
  bandwidth_.clear();
  step_bytes_.clear();
  floor_tps_.clear();
  share_.clear();
  return s;
}

}  // namespace mlxlm::cli
