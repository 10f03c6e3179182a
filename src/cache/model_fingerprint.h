#pragma once
// Which model a prompt cache was computed with. mlx-lm stores only the model name ("1.model");
// a cache reused with another model silently produces garbage, so mlxlm also stores this
// fingerprint as the user metadata entry "mlxlm_fingerprint" (a JSON string; mlx-lm ignores it)
// and refuses a cache that does not fit the loaded model, saying why.
#include <map>
#include <memory>
#include <span>
#include <string>

#include "cache/cache.h"

namespace mlxlm {

struct ModelFingerprint {
  std::string model_type;
  int64_t num_layers = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  std::string dtype;           // "F32", "F16", "BF16"
  std::string config_hash;     // FNV-1a 64 of config.json, hex
  std::string tokenizer_hash;  // FNV-1a 64 over the tokenizer files present, hex
};

inline constexpr const char* kFingerprintKey = "mlxlm_fingerprint";
// A cache for speculative decoding holds the model's layers, then the draft model's (mlx-lm's
// layout, spec 2.2); the draft's fingerprint is stored under this entry.
inline constexpr const char* kDraftFingerprintKey = "mlxlm_draft_fingerprint";

// Fills config_hash and tokenizer_hash from the files of `model_dir`.
void hash_model_files(ModelFingerprint& fp, const std::string& model_dir);
std::string fingerprint_json(const ModelFingerprint& fp);
// Parses the stored entry; throws InvalidInput when it is malformed.
ModelFingerprint parse_fingerprint(const std::string& json);

// Throws InvalidInput with the reason when `layers` (with the user metadata they were loaded with)
// cannot serve `model`: a field of the fingerprint stored under `key` differs, or, for files
// without one (made by mlx-lm), the layer count, kv heads or head dims of the stored keys differ.
// `role` names the model in the message ("model", "draft model").
void check_cache_fits_model(std::span<const std::unique_ptr<Cache>> layers,
                            const std::map<std::string, std::string>& metadata,
                            const ModelFingerprint& model, const char* key = kFingerprintKey,
                            const std::string& role = "model");

// FNV-1a 64-bit of bytes, continuing from `h`.
uint64_t fnv1a64(const void* data, size_t n, uint64_t h = 0xcbf29ce484222325ull);

}  // namespace mlxlm
