// BatchGenerator's requests: checking and queuing them, removing sequences, and copying out the
// caches of sequences in any stage.
#include <algorithm>

#include "base/error.h"
#include "generate/batch_sequence.h"
#include "models/model.h"

namespace mlxlm {
namespace {

bool contains(const std::vector<uint64_t>& uids, uint64_t uid) {
  return std::find(uids.begin(), uids.end(), uid) != uids.end();
}

}  // namespace

void BatchGenerator::check_request(const BatchRequest& r) const {
  if (r.prompt.empty()) throw InvalidInput("generate", "a batch request has an empty prompt");
  const int64_t vocab = model_.info().vocab_size;
  auto check_ids = [&](const std::vector<int32_t>& ids, const std::string& what) {
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] >= vocab) {
        throw InvalidInput("generate",
                           what + " token " + std::to_string(i) + " (id " + std::to_string(ids[i]) +
                               ") is outside the vocabulary of " + std::to_string(vocab));
      }
    }
  };
  check_ids(r.prompt, "a batch request's prompt");
  check_ids(r.cached_tokens, "a batch request's cached_tokens");
  check_sampler_vocabulary(r.sampler ? *r.sampler : options_.sampler, vocab);
  for (size_t i = 0; i < r.segment_ends.size(); ++i) {
    const int64_t e = r.segment_ends[i];
    if (e <= 0 || e >= static_cast<int64_t>(r.prompt.size()) ||
        (i > 0 && e <= r.segment_ends[i - 1])) {
      throw InvalidInput("generate", "a batch request's segment_ends must increase inside (0, " +
                                         std::to_string(r.prompt.size()) + "), got " +
                                         std::to_string(e) + " at index " + std::to_string(i));
    }
  }
  if (r.cache == nullptr) {
    if (!r.cached_tokens.empty()) {
      throw InvalidInput("generate", "cached_tokens were given without the cache holding them");
    }
    return;
  }
  const PromptCache own = batch_layers::sequence_cache(model_, options_.max_kv_size);
  if (r.cache->size() != own.size()) {
    throw InvalidInput("generate", "a batch request's cache has " +
                                       std::to_string(r.cache->size()) + " layers, the model has " +
                                       std::to_string(own.size()));
  }
  for (size_t l = 0; l < own.size(); ++l) {
    const Cache& given = *(*r.cache)[l];
    if (given.class_name() != own[l]->class_name()) {
      throw InvalidInput("generate", "layer " + std::to_string(l) +
                                         " of a batch request's cache is a " + given.class_name() +
                                         "; this generator batches " + own[l]->class_name() +
                                         " layers");
    }
    // Arrays (state-space) caches hold a state, not positions: they have no offset to compare.
    const auto cached = static_cast<int64_t>(r.cached_tokens.size());
    if (cached > 0 && given.class_name() != "ArraysCache" && given.offset() != cached) {
      throw InvalidInput("generate", "a batch request's cached_tokens holds " +
                                         std::to_string(cached) + " tokens, but layer " +
                                         std::to_string(l) + " of its cache holds " +
                                         std::to_string(given.offset()));
    }
  }
}

std::vector<uint64_t> BatchGenerator::insert(std::vector<BatchRequest> requests) {
  for (const auto& r : requests) check_request(r);
  // Every sequence is made (its sampler checks its options) before any is queued.
  std::vector<std::unique_ptr<Sequence>> made;
  for (auto& r : requests) {
    auto seq = std::make_unique<Sequence>();
    seq->tokens = r.cached_tokens;
    seq->prompt_begin = static_cast<int64_t>(seq->tokens.size());
    seq->tokens.insert(seq->tokens.end(), r.prompt.begin(), r.prompt.end());
    seq->prompt_end = static_cast<int64_t>(seq->tokens.size());
    for (int64_t e : r.segment_ends) seq->segment_ends.push_back(seq->prompt_begin + e);
    seq->max_tokens = r.max_tokens.value_or(options_.max_tokens);
    if (r.cache != nullptr) {
      seq->cache = copy_prompt_cache(*r.cache);
      seq->processed = seq->prompt_begin;
    } else {
      seq->cache = batch_layers::sequence_cache(model_, options_.max_kv_size);
    }
    if (r.sampler) seq->sampler = std::make_unique<Sampler>(*r.sampler);
    seq->processors = r.logits_processors.value_or(options_.logits_processors);
    seq->matcher = StopSequenceMatcher(r.stop_tokens.value_or(options_.stop_tokens));
    made.push_back(std::move(seq));
  }
  std::vector<uint64_t> uids;
  for (auto& seq : made) {
    seq->uid = next_uid_++;
    uids.push_back(seq->uid);
    queue_.push_back(std::move(seq));
  }
  return uids;
}

std::map<uint64_t, SequenceCache> BatchGenerator::remove(const std::vector<uint64_t>& uids,
                                                         bool return_prompt_caches) {
  std::map<uint64_t, SequenceCache> caches;
  if (return_prompt_caches) caches = extract_cache(uids);
  auto doomed = [&](const std::unique_ptr<Sequence>& s) { return contains(uids, s->uid); };
  std::erase_if(queue_, doomed);
  std::vector<int64_t> keep_prefill;
  for (size_t i = 0; i < prefilling_.size(); ++i) {
    if (!doomed(prefilling_[i])) keep_prefill.push_back(static_cast<int64_t>(i));
  }
  if (keep_prefill.size() < prefilling_.size()) batch_layers::filter(prefill_cache_, keep_prefill);
  std::erase_if(prefilling_, doomed);
  std::vector<int64_t> keep;
  for (size_t i = 0; i < decoding_.size(); ++i) {
    if (!doomed(decoding_[i])) keep.push_back(static_cast<int64_t>(i));
  }
  if (keep.size() < decoding_.size()) {
    batch_layers::filter(decode_cache_, keep);
    std::erase_if(decoding_, doomed);
  }
  return caches;
}

std::map<uint64_t, SequenceCache> BatchGenerator::extract_cache(
    const std::vector<uint64_t>& uids) const {
  // Queued and prefilling sequences hold the processed part of their prompt; a decoding one
  // holds every token reported so far (its pending token is sampled, not yet fed).
  auto processed = [](const Sequence& s) {
    return std::vector<int32_t>(s.tokens.begin(), s.tokens.begin() + s.processed);
  };
  std::map<uint64_t, SequenceCache> out;
  for (const auto& s : queue_) {
    if (contains(uids, s->uid)) out[s->uid] = {copy_prompt_cache(s->cache), processed(*s)};
  }
  for (size_t i = 0; i < prefilling_.size(); ++i) {
    const Sequence& s = *prefilling_[i];
    if (contains(uids, s.uid)) {
      out[s.uid] = {batch_layers::extract_row(prefill_cache_, static_cast<int64_t>(i)),
                    processed(s)};
    }
  }
  for (size_t i = 0; i < decoding_.size(); ++i) {
    const Sequence& s = *decoding_[i];
    if (contains(uids, s.uid)) {
      out[s.uid] = {batch_layers::extract_row(decode_cache_, static_cast<int64_t>(i)), s.tokens};
    }
  }
  return out;
}

bool BatchGenerator::done() const {
  return queue_.empty() && prefilling_.empty() && decoding_.empty();
}

size_t BatchGenerator::prompt_cache_nbytes() const {
  size_t n = mlxlm::prompt_cache_nbytes(decode_cache_);
  n += mlxlm::prompt_cache_nbytes(prefill_cache_);
  for (const auto& s : queue_) n += mlxlm::prompt_cache_nbytes(s->cache);
  return n;
}

}  // namespace mlxlm
