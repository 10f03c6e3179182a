#include "models/decoder_model.h"

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "cache/kv_cache.h"
#include "models/weight_loader.h"
#include "nn/scratch.h"

namespace mlxlm {

DecoderModel::DecoderModel(std::string model_type, const TransformerArgs& args,
                           const DecoderOptions& options, WeightStore weights)
    : weights_(std::move(weights)) {
  const QuantConfig& q = args.quantization;
  const std::string& p = options.prefix;
  info_.model_type = std::move(model_type);
  info_.num_layers = args.num_hidden_layers;
  info_.vocab_size = args.vocab_size;
  info_.hidden_size = args.hidden_size;
  info_.n_kv_heads = args.num_key_value_heads;
  info_.head_dim = args.head_dim;
  info_.kv_bytes_per_token = 2 * args.num_hidden_layers * args.num_key_value_heads * args.head_dim *
                             static_cast<int64_t>(dtype_size(args.kv_dtype));

  const auto rot_dim = static_cast<int64_t>(args.head_dim * args.partial_rotary_factor);
  rope_ = std::make_unique<RoPE>(rot_dim, args.rope_theta, args.rope_scaling);

  LinearTensors embed = linear_tensors(weights_, p + ".embed_tokens", q);
  info_.dtype = embed.scales ? embed.scales->dtype() : embed.weight.dtype();
  embed_ = Embedding(embed, p + ".embed_tokens");
  if (embed_.dim() != args.hidden_size) {
    throw InvalidInput("models", p + ".embed_tokens has width " + std::to_string(embed_.dim()) +
                                     ", config says hidden_size " +
                                     std::to_string(args.hidden_size));
  }

  AttentionConfig ac{args.hidden_size, args.num_attention_heads, args.num_key_value_heads,
                     args.head_dim, 0.0f};
  ac.kv_dtype = args.kv_dtype;
  layers_.reserve(args.num_hidden_layers);
  for (int64_t i = 0; i < args.num_hidden_layers; ++i) {
    const std::string lp = p + ".layers." + std::to_string(i);
    AttentionWeights aw{load_linear(weights_, lp + ".self_attn.q_proj", q),
                        load_linear(weights_, lp + ".self_attn.k_proj", q),
                        load_linear(weights_, lp + ".self_attn.v_proj", q),
                        load_linear(weights_, lp + ".self_attn.o_proj", q),
                        std::nullopt,
                        std::nullopt};
    if (options.qk_norm) {
      aw.q_norm = load_rms_norm(weights_, lp + ".self_attn.q_norm", args.rms_norm_eps);
      aw.k_norm = load_rms_norm(weights_, lp + ".self_attn.k_norm", args.rms_norm_eps);
    }
    Linear gate = load_linear(weights_, lp + ".mlp.gate_proj", q);
    Linear up = load_linear(weights_, lp + ".mlp.up_proj", q);
    Linear down = load_linear(weights_, lp + ".mlp.down_proj", q);
    // In the order forward() reads them. The views stay valid when the modules move: they
    // point into the store.
    for (const Linear* l : {&aw.q_proj, &aw.k_proj, &aw.v_proj, &aw.o_proj, &gate, &up, &down}) {
      step_weights_.push_back(l->weight());
    }
    GatedMLP mlp(std::move(gate), std::move(up), std::move(down));
    layers_.emplace_back(
        load_rms_norm(weights_, lp + ".input_layernorm", args.rms_norm_eps),
        Attention(ac, std::move(aw), rope_.get()),
        load_rms_norm(weights_, lp + ".post_attention_layernorm", args.rms_norm_eps),
        std::move(mlp));
  }
  norm_ = load_rms_norm(weights_, p + ".norm", args.rms_norm_eps);
  if (args.tie_word_embeddings || !weights_.contains("lm_head.weight")) {
    lm_head_ = embed_.as_linear();
  } else {
    lm_head_ = load_linear(weights_, "lm_head", q);
  }
  if (lm_head_.out_features() != args.vocab_size) {
    throw InvalidInput("models", "lm_head has " + std::to_string(lm_head_.out_features()) +
                                     " outputs, config says vocab_size " +
                                     std::to_string(args.vocab_size));
  }
  step_weights_.push_back(lm_head_.weight());
}

PromptCache DecoderModel::make_cache() const {
  PromptCache cache;
  for (int64_t i = 0; i < info_.num_layers; ++i) cache.push_back(std::make_unique<KVCache>());
  return cache;
}

namespace {

// Long passes run through the layers a slice of positions at a time, so that every activation
// buffer (the residual, the norms, q, the attention output, the MLP's chunks) holds a slice, not
// the whole pass: Llama-3.2-1B keeps about 40 KiB of them a token, 80 MiB for a 2048-token
// prompt in one pass. Attention is causal, so slices fed in order give what the whole pass
// gives, as long as every cache splits passes exactly.
constexpr int64_t kPassRows = 512;

int64_t slice_count(const std::vector<AttentionCache*>& caches, int64_t batch, int64_t length) {
  for (const AttentionCache* c : caches) {
    if (!c->splits_passes_exactly()) return 1;
  }
  const int64_t slices = (batch * length + kPassRows - 1) / kPassRows;
  return std::clamp<int64_t>(slices, 1, length);
}

}  // namespace

Tensor DecoderModel::forward(std::span<const int32_t> tokens, int64_t batch, PromptCache& cache,
                             bool last_only) const {
  if (batch <= 0 || tokens.size() % batch != 0 || tokens.empty()) {
    throw InvalidInput("models", "forward needs a non-empty [batch, length] token block");
  }
  if (static_cast<int64_t>(cache.size()) != info_.num_layers) {
    throw InvalidInput("models", "prompt cache has " + std::to_string(cache.size()) +
                                     " layers, the model has " + std::to_string(info_.num_layers));
  }
  std::vector<AttentionCache*> layer_caches;
  for (size_t i = 0; i < cache.size(); ++i) {
    auto* c = dynamic_cast<AttentionCache*>(cache[i].get());
    if (c == nullptr) {
      throw InvalidInput("models", "layer " + std::to_string(i) +
                                       " needs an attention cache, got " + cache[i]->class_name());
    }
    layer_caches.push_back(c);
  }
  const int64_t length = static_cast<int64_t>(tokens.size()) / batch;
  const int64_t out_len = last_only ? 1 : length;
  auto logits = Tensor::empty(DType::F32, {batch, out_len, info_.vocab_size});
  const int64_t slices = slice_count(layer_caches, batch, length);
  if (slices > 1) {
    for (AttentionCache* c : layer_caches) c->reserve(length);
  }
  std::vector<int32_t> slice_tokens;
  for (int64_t s = 0; s < slices; ++s) {
    const int64_t t0 = length * s / slices, n = length * (s + 1) / slices - t0;
    std::span<const int32_t> ids = tokens;
    if (slices > 1) {
      slice_tokens.resize(static_cast<size_t>(batch * n));
      for (int64_t b = 0; b < batch; ++b) {
        std::copy_n(tokens.begin() + b * length + t0, n, slice_tokens.begin() + b * n);
      }
      ids = slice_tokens;
    }
    const float* x = run_layers(ids, batch, n, layer_caches);
    // The positions of this slice that the logits cover.
    const int64_t from = std::max(t0, length - out_len);
    if (from < t0 + n) {
      head(x, batch, n, from - t0, t0 + n - from, logits, from - (length - out_len));
    }
  }
  return logits;
}

const float* DecoderModel::run_layers(std::span<const int32_t> tokens, int64_t batch,
                                      int64_t length,
                                      const std::vector<AttentionCache*>& caches) const {
  float* x = scratch(ScratchSlot::Hidden, static_cast<int64_t>(tokens.size()) * info_.hidden_size);
  embed_.lookup(tokens.data(), static_cast<int64_t>(tokens.size()), x);
  for (size_t i = 0; i < layers_.size(); ++i) layers_[i].forward(x, batch, length, *caches[i]);
  return x;
}

void DecoderModel::head(const float* x, int64_t batch, int64_t length, int64_t first, int64_t count,
                        Tensor& logits, int64_t out_pos) const {
  const int64_t hidden = info_.hidden_size, vocab = info_.vocab_size;
  const int64_t out_len = logits.dim(1);
  std::vector<float> h(static_cast<size_t>(batch * count * hidden));
  for (int64_t b = 0; b < batch; ++b) {
    std::memcpy(h.data() + b * count * hidden, x + (b * length + first) * hidden,
                count * hidden * sizeof(float));
  }
  norm_.forward(h.data(), batch * count, h.data());
  if (count == out_len) {
    lm_head_.forward(h.data(), batch * count, logits.data<float>());
    return;
  }
  // A slice of a pass whose every position wants logits: each batch row's block lands apart.
  std::vector<float> part(static_cast<size_t>(batch * count * vocab));
  lm_head_.forward(h.data(), batch * count, part.data());
  for (int64_t b = 0; b < batch; ++b) {
    std::memcpy(logits.data<float>() + (b * out_len + out_pos) * vocab,
                part.data() + b * count * vocab, count * vocab * sizeof(float));
  }
}

}  // namespace mlxlm
