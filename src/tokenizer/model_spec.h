#pragma once
// What the loader hands to the model factories: the model's small options as Json, and its
// large tables (vocab, merges) as views into the parsed document, so that a 200k-entry vocab
// never goes through nlohmann::json.
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "io/json.h"
#include "tokenizer/components.h"

namespace mlxlm::tok {

struct ModelSpec {
  std::string type;
  Json options;  // every key of "model" except vocab and merges
  std::vector<std::pair<std::string_view, int64_t>> vocab;        // BPE, WordPiece
  std::vector<std::pair<std::string_view, double>> scored_vocab;  // Unigram
  std::vector<std::pair<std::string_view, std::string_view>> merges;
};

std::unique_ptr<Model> make_bpe_model(const ModelSpec& spec);
std::unique_ptr<Model> make_unigram_model(const ModelSpec& spec);
std::unique_ptr<Model> make_wordpiece_model(const ModelSpec& spec);

}  // namespace mlxlm::tok
