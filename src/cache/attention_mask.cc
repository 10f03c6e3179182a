#include "cache/attention_mask.h"

#include <algorithm>

#include "base/error.h"

namespace mlxlm {

AttentionMask create_causal_mask(int64_t n, int64_t offset, int64_t window,
                                 const std::vector<int64_t>* left_padding,
                                 const std::vector<int64_t>* right_padding) {
  AttentionMask m;
  m.kind = AttentionMask::Kind::Array;
  m.q_len = n;
  m.kv_len = offset + n;
  m.rows = 1;
  if (left_padding != nullptr) m.rows = static_cast<int64_t>(left_padding->size());
  if (right_padding != nullptr) {
    MLXLM_CHECK(left_padding == nullptr || left_padding->size() == right_padding->size(), "cache",
                "padding sizes differ");
    m.rows = static_cast<int64_t>(right_padding->size());
  }
  m.data.assign(static_cast<size_t>(m.rows * m.q_len * m.kv_len), 0);
  for (int64_t b = 0; b < m.rows; ++b) {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t q = offset + i;
      for (int64_t j = 0; j < m.kv_len; ++j) {
        bool v = q >= j;
        if (window > 0) v = v && q < j + window;
        if (right_padding != nullptr) v = v && j < offset + n - (*right_padding)[b];
        if (left_padding != nullptr) v = v && (*left_padding)[b] <= j;
        m.data[(b * n + i) * m.kv_len + j] = v ? 1 : 0;
      }
    }
  }
  return m;
}

AttentionMask create_attention_mask(int64_t n, int64_t offset, bool return_array, int64_t window) {
  if (window > 0) return create_causal_mask(n, offset, window);
  if (n == 1) return AttentionMask::none();
  if (return_array) return create_causal_mask(n, offset);
  return AttentionMask::causal();
}

AttentionMask create_attention_mask_without_cache(int64_t n, int64_t window, bool return_array) {
  if (n == 1) return AttentionMask::none();
  if (return_array || (window > 0 && n > window)) return create_causal_mask(n, 0, window);
  return AttentionMask::causal();
}

void roll_mask_keys(AttentionMask& mask, int64_t shift) {
  MLXLM_CHECK(mask.is_array(), "cache", "roll of a non-array mask");
  const int64_t n = mask.kv_len;
  if (n == 0) return;
  const int64_t s = ((shift % n) + n) % n;
  std::vector<uint8_t> row(static_cast<size_t>(n));
  for (int64_t r = 0; r < mask.rows * mask.q_len; ++r) {
    uint8_t* p = mask.data.data() + r * n;
    for (int64_t j = 0; j < n; ++j) row[(j + s) % n] = p[j];
    std::copy(row.begin(), row.end(), p);
  }
}

}  // namespace mlxlm
