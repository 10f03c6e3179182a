#include "decode_floor.h"

#include <algorithm>

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
  const double bytes = weight_bytes_ + kv_bytes_per_token_ * static_cast<double>(context);
  steps_.push_back({timer.seconds(), bytes, step_seconds});
}

DecodeFloor::Summary DecodeFloor::take_summary() {
  Summary s;
  s.steps = static_cast<int>(steps_.size());
  std::vector<double> bandwidth, floor_tps, share;
  double bytes = 0;
  for (const Step& step : steps_) {
    const double bw = weight_bytes_ / step.read_seconds;
    bandwidth.push_back(bw);
    floor_tps.push_back(bw / step.bytes);
    share.push_back(step.bytes / bw / step.step_seconds);
    bytes += step.bytes;
  }
  if (s.steps > 0) {
    s.bandwidth = median(bandwidth);
    s.step_bytes = bytes / s.steps;
    s.floor_tps = median(floor_tps);
    s.share = median(share);
  }
  steps_.clear();
  return s;
}

}  // namespace mlxlm::cli
