#pragma once
// mlx-lm's QuantizedKVCache: keys and values stored affine-quantized along head_dim as they
// arrive (256-token growth like KVCache); attention reads the codes directly.
#include "cache/cache.h"
#include "cache/kv_quantize.h"

namespace mlxlm {

class QuantizedKVCache : public AttentionCache {
 public:
  static constexpr int64_t kStep = 256;

  explicit QuantizedKVCache(int group_size = 64, int bits = 8);

  std::string class_name() const override { return "QuantizedKVCache"; }
  bool splits_passes_exactly() const override { return true; }
  void reserve(int64_t tokens) override { reserved_ = tokens; }
  int64_t offset() const override { return offset_; }
  bool is_trimmable() const override { return true; }
  int64_t trim(int64_t n) override;
  int64_t size() const override { return offset_; }
  bool empty() const override { return keys_.codes.ndim() == 0; }
  size_t nbytes() const override;

  StateTree state() const override;
  void set_state(StateTree state) override;
  MetaTree meta_state() const override;
  void set_meta_state(const MetaTree& meta) override;
  void validate() const override;
  std::unique_ptr<Cache> copy() const override;

  KVBlock update_and_fetch(const Tensor& keys, const Tensor& values) override;

  int group_size() const { return group_size_; }
  int bits() const { return bits_; }
  const QuantizedTokens& keys() const { return keys_; }
  const QuantizedTokens& values() const { return values_; }
  // Adopts quantized buffers whose first `offset` tokens are valid.
  void assign(QuantizedTokens keys, QuantizedTokens values, int64_t offset);

 private:
  int group_size_;
  int bits_;
  QuantizedTokens keys_, values_;
  int64_t offset_ = 0;
  int64_t reserved_ = 0;  // tokens the next update sizes its buffers for (reserve)
};

// Helpers shared by the quantized caches: token-axis operations on all three planes at once.
QuantizedTokens slice_tokens(const QuantizedTokens& q, int64_t from, int64_t to);
QuantizedTokens concat_tokens(const std::vector<const QuantizedTokens*>& parts);
inline QuantizedTokens concat_tokens(std::initializer_list<const QuantizedTokens*> parts) {
  return concat_tokens(std::vector<const QuantizedTokens*>(parts));
}
QuantizedTokens zeros_tokens(const QuantizedTokens& like, int64_t tokens);
void write_tokens(QuantizedTokens& dst, const QuantizedTokens& src, int64_t at);
QuantizedTokens clone(const QuantizedTokens& q);
int64_t token_count(const QuantizedTokens& q);
size_t nbytes(const QuantizedTokens& q);
// A block over the first `length` tokens of quantized buffers.
KVBlock quantized_block(const QuantizedTokens& k, const QuantizedTokens& v, int64_t length,
                        int group_size, int bits);
// The [codes, scales, biases] state list and its validating reader.
StateTree quantized_state(const QuantizedTokens& q);
QuantizedTokens take_quantized(StateTree& node, const std::string& what);
// Checks that quantized keys/values agree with each other and with group_size and bits.
void check_quantized_pair(const QuantizedTokens& k, const QuantizedTokens& v, int group_size,
                          int bits, const std::string& what);

}  // namespace mlxlm
