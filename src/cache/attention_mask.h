#pragma once
// Attention masks in mlx-lm's conventions (spec 3): "none" (every cached token visible; mlx-lm's
// None), "causal" (query i of N sees keys up to kv_len - N + i; mlx's "causal" string) or an
// explicit boolean array, shared by all rows or one per batch row.
#include <cstdint>
#include <optional>
#include <vector>

namespace mlxlm {

struct AttentionMask {
  enum class Kind : uint8_t { None, Causal, Array };
  Kind kind = Kind::None;
  // Array only: data is [rows, q_len, kv_len] with rows 1 (shared) or the batch size.
  int64_t rows = 0;
  int64_t q_len = 0;
  int64_t kv_len = 0;
  std::vector<uint8_t> data;

  static AttentionMask none() { return {}; }
  static AttentionMask causal() { return {Kind::Causal, 0, 0, 0, {}}; }
  bool is_array() const { return kind == Kind::Array; }
  // Element (row, i, j) of an array mask; a shared mask ignores `row`.
  bool at(int64_t row, int64_t i, int64_t j) const {
    return data[((rows == 1 ? 0 : row) * q_len + i) * kv_len + j] != 0;
  }
  // The [q_len, kv_len] slice of row `row`.
  const uint8_t* row_data(int64_t row) const {
    return data.data() + (rows == 1 ? 0 : row) * q_len * kv_len;
  }
};

// mlx-lm's create_causal_mask: mask[b, i, j] = (offset + i >= j) and (offset + i < j + window)
// over j in [0, offset + n), further cut by per-row right padding (j < offset + n - right[b]) and
// left padding (j >= left[b]). window 0 means none.
AttentionMask create_causal_mask(int64_t n, int64_t offset, int64_t window = 0,
                                 const std::vector<int64_t>* left_padding = nullptr,
                                 const std::vector<int64_t>* right_padding = nullptr);

// mlx-lm's create_attention_mask for a cache at `offset`: windowed array when a window applies,
// none for one query, an array when asked for, else causal.
AttentionMask create_attention_mask(int64_t n, int64_t offset, bool return_array, int64_t window);

// mlx-lm's create_attention_mask(h, cache=None): none for one query, an array when asked for or
// when the window is shorter than the queries, else causal.
AttentionMask create_attention_mask_without_cache(int64_t n, int64_t window, bool return_array);

// Rolls the key axis of an array mask like mx.roll(mask, shift, axis=-1).
void roll_mask_keys(AttentionMask& mask, int64_t shift);

}  // namespace mlxlm
