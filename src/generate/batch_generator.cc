// BatchGenerator's steps: decoding the batch, admitting queued sequences, prefilling prompts in
// chunks. Requests, removal and cache extraction are in batch_requests.cc.
#include <algorithm>

#include "base/error.h"
#include "base/memory.h"
#include "base/thread_pool.h"
#include "base/timer.h"
#include "cache/cache_factory.h"
#include "cache/rotating_kv_cache.h"
#include "generate/batch_sequence.h"
#include "models/model.h"
#include "sampling/next_token.h"

namespace mlxlm {

namespace batch_layers {

PromptCache sequence_cache(const Model& model, int64_t max_kv_size) {
  PromptCache cache = model.make_cache();
  if (max_kv_size > 0) {
    for (auto& c : cache) {
      if (c->class_name() == "KVCache") c = std::make_unique<RotatingKVCache>(max_kv_size, 0);
    }
  }
  return cache;
}

PromptCache extract_row(const PromptCache& batch, int64_t row) {
  PromptCache out;
  for (const auto& layer : batch) out.push_back(layer->extract(row));
  return out;
}

void filter(PromptCache& batch, const std::vector<int64_t>& rows) {
  if (rows.empty()) {
    batch.clear();
    return;
  }
  for (auto& layer : batch) layer->filter(rows);
}

}  // namespace batch_layers

namespace {

// One batch cache per layer from the layers of single-sequence caches.
PromptCache merge_layers(const std::vector<PromptCache*>& caches) {
  PromptCache merged(caches.front()->size());
  std::vector<const Cache*> layer(caches.size());
  for (size_t l = 0; l < merged.size(); ++l) {
    for (size_t i = 0; i < caches.size(); ++i) layer[i] = (*caches[i])[l].get();
    merged[l] = merge_caches(layer);
  }
  return merged;
}

// What the exception being handled says, for a response's `error`.
std::string current_exception_message() {
  try {
    throw;
  } catch (const std::exception& e) {
    return *e.what() != '\0' ? e.what() : "an exception without a message";
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

// Appends the rows of `more` to `batch` (which may be empty).
void extend_layers(PromptCache& batch, PromptCache&& more) {
  if (batch.empty()) {
    batch = std::move(more);
    return;
  }
  for (size_t l = 0; l < batch.size(); ++l) batch[l]->extend(*more[l]);
}

}  // namespace

BatchGenerator::BatchGenerator(const Model& model, BatchGeneratorOptions options)
    : model_(model), options_(std::move(options)) {
  options_.completion_batch_size =
      std::max(options_.completion_batch_size, options_.prefill_batch_size);
  if (options_.prefill_batch_size < 1 || options_.prefill_step_size < 1) {
    throw InvalidInput("generate", "batch sizes and prefill_step_size must be positive");
  }
  fallback_sampler_ = std::make_unique<Sampler>(options_.sampler);
}

BatchGenerator::~BatchGenerator() = default;

std::vector<std::string> BatchGenerator::sample_pending(
    const std::vector<std::pair<Sequence*, const float*>>& rows) {
  const auto vocab = static_cast<size_t>(model_.info().vocab_size);
  // A sequence's own sampler, or a greedy shared one, may draw on any thread; a shared sampler
  // with a temperature draws on this thread in batch order, so that a seeded batch is
  // reproducible.
  const bool shared_draws_here = fallback_sampler_->options().temp != 0.0f;
  // What threw for each row. Each slot is written by the one thread working on its row.
  std::vector<std::string> failed(rows.size());
  auto guarded = [&](size_t j, auto&& work) {
    if (!failed[j].empty()) return;
    try {
      work(j);
    } catch (...) {
      failed[j] = current_exception_message();
    }
  };
  auto draw = [&](size_t j) {
    Sequence& s = *rows[j].first;
    Sampler& sampler = s.sampler ? *s.sampler : *fallback_sampler_;
    s.pending = sampler.sample(s.pending_logprobs);
  };
  auto serial = [&](const Sequence& s) { return !s.sampler && shared_draws_here; };
  auto normalize = [&](size_t j) {
    Sequence& s = *rows[j].first;
    normalized_logprobs({rows[j].second, vocab}, s.tokens, s.processors, s.pending_logprobs);
  };
  // Everything but the logits processors (the caller's code, run here first) and the serial
  // draws runs on the thread pool: over a 128k-token vocabulary, one row after another, the
  // log-softmax and argmax were 2.5 % of a batch-8 decoding step while the other threads waited.
  for (size_t j = 0; j < rows.size(); ++j) {
    if (!rows[j].first->processors.empty()) guarded(j, normalize);
  }
  auto on_pool = [&](int64_t begin, int64_t end) {
    for (auto j = static_cast<size_t>(begin); j < static_cast<size_t>(end); ++j) {
      const Sequence& s = *rows[j].first;
      if (s.processors.empty()) guarded(j, normalize);
      if (!serial(s)) guarded(j, draw);
    }
  };
  ThreadPool::global().parallel_for(static_cast<int64_t>(rows.size()), 1, on_pool);
  for (size_t j = 0; j < rows.size(); ++j) {
    if (serial(*rows[j].first)) guarded(j, draw);
  }
  return failed;
}

void BatchGenerator::attach_cache(BatchTokenResponse& r, const Sequence& s,
                                  const PromptCache& batch, int64_t row) const {
  if (!options_.return_prompt_caches) return;
  r.prompt_cache = batch_layers::extract_row(batch, row);
  r.all_tokens = s.tokens;
}

void BatchGenerator::fail_batch(Step& out, std::vector<std::unique_ptr<Sequence>>& batch,
                                PromptCache& cache, const std::string& why) {
  const size_t reported = out.generation.size();  // this step's responses so far
  for (const auto& s : batch) {
    if (!s) continue;  // moved to the other batch before the throw, which fails it too
    auto r = std::find_if(out.generation.begin(), out.generation.begin() + reported,
                          [&](const BatchTokenResponse& x) { return x.uid == s->uid; });
    if (r == out.generation.begin() + reported) {
      out.generation.push_back({.uid = s->uid, .token = -1, .finish_reason = "error"});
      out.generation.back().error = why;
    } else if (r->finish_reason.empty()) {  // its token is reported; it ends after it
      r->finish_reason = "error";
      r->error = why;
    }
  }
  batch.clear();
  cache.clear();
}

void BatchGenerator::decode_step(Step& out) {
  Timer timer;
  const auto batch = static_cast<int64_t>(decoding_.size());
  std::vector<int32_t> tokens;
  tokens.reserve(batch);
  for (const auto& s : decoding_) tokens.push_back(s->pending);
  Tensor logits = model_.forward(tokens, batch, decode_cache_, /*last_only=*/true);
  const int64_t vocab = model_.info().vocab_size;

  const size_t first = out.generation.size();  // row i reports at first + i
  std::vector<int64_t> going_on;
  std::vector<std::pair<Sequence*, const float*>> sampled;
  for (int64_t i = 0; i < batch; ++i) {
    Sequence& s = *decoding_[i];
    BatchTokenResponse r;
    r.uid = s.uid;
    r.token = s.pending;
    r.logprobs = std::move(s.pending_logprobs);
    s.tokens.push_back(s.pending);
    ++s.generated;
    if (s.matcher.advance(s.pending)) {
      r.finish_reason = "stop";
    } else if (s.generated >= s.max_tokens) {
      r.finish_reason = "length";
    }
    if (r.finish_reason.empty()) {
      going_on.push_back(i);
      sampled.emplace_back(&s, logits.data<float>() + i * vocab);
    } else {
      attach_cache(r, s, decode_cache_, i);
    }
    out.generation.push_back(std::move(r));
  }
  const std::vector<std::string> failures = sample_pending(sampled);
  std::vector<int64_t> keep;
  for (size_t j = 0; j < going_on.size(); ++j) {
    const int64_t i = going_on[j];
    if (failures[j].empty()) {
      keep.push_back(i);
      continue;
    }
    // The token reported now was fed and is in the cache; the sequence ends after it.
    BatchTokenResponse& r = out.generation[first + static_cast<size_t>(i)];
    r.finish_reason = "error";
    r.error = failures[j];
    attach_cache(r, *decoding_[i], decode_cache_, i);
  }
  stats_.generation_tokens += batch;
  if (keep.size() < decoding_.size()) {
    batch_layers::filter(decode_cache_, keep);
    std::vector<std::unique_ptr<Sequence>> kept;
    for (int64_t i : keep) kept.push_back(std::move(decoding_[i]));
    decoding_ = std::move(kept);
  }
  stats_.generation_time += timer.seconds();
}

void BatchGenerator::admit_queued() {
  std::vector<std::unique_ptr<Sequence>> admitted;
  while (!queue_.empty() &&
         static_cast<int>(prefilling_.size() + admitted.size()) < options_.prefill_batch_size &&
         static_cast<int>(prefilling_.size() + admitted.size() + decoding_.size()) <
             options_.completion_batch_size) {
    admitted.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  if (admitted.empty()) return;
  std::vector<PromptCache*> caches;
  for (auto& s : admitted) caches.push_back(&s->cache);
  // Listed before their rows join the cache, so that a throw on the way fails them with the
  // rest of the prefill batch instead of losing them.
  for (auto& s : admitted) prefilling_.push_back(std::move(s));
  extend_layers(prefill_cache_, merge_layers(caches));
  for (auto* c : caches) c->clear();
}

void BatchGenerator::finish_prompts(Step& out) {
  // Sequences with only their last prompt token left leave the prefill batch; that token is fed
  // for all of them at once and gives their first sampled token.
  std::vector<int64_t> last, rest;
  for (size_t i = 0; i < prefilling_.size(); ++i) {
    const Sequence& s = *prefilling_[i];
    (s.prompt_end - s.processed == 1 ? last : rest).push_back(static_cast<int64_t>(i));
  }
  if (last.empty()) return;
  PromptCache finishing;
  if (rest.empty()) {  // the whole prefill batch moves on: no copy needed
    finishing = std::move(prefill_cache_);
    prefill_cache_.clear();
  } else {
    finishing = copy_prompt_cache(prefill_cache_);
    batch_layers::filter(finishing, last);
    batch_layers::filter(prefill_cache_, rest);
  }
  std::vector<int32_t> tokens;
  for (int64_t i : last) tokens.push_back(prefilling_[i]->tokens[prefilling_[i]->processed]);
  const auto batch = static_cast<int64_t>(last.size());
  Tensor logits = model_.forward(tokens, batch, finishing, /*last_only=*/true);
  stats_.prompt_tokens += batch;
  try {
    join_decoding(out, std::move(finishing), logits, last);
  } catch (...) {
    // The decoding batch's caches were extended partway too; the caller ends the prompts.
    fail_batch(out, decoding_, decode_cache_, current_exception_message());
    throw;
  }
}

void BatchGenerator::join_decoding(Step& out, PromptCache&& finishing, const Tensor& logits,
                                   const std::vector<int64_t>& last) {
  const int64_t vocab = model_.info().vocab_size;
  const auto decoding = static_cast<int64_t>(decoding_.size());  // row decoding + j: last[j]
  extend_layers(decode_cache_, std::move(finishing));
  std::vector<std::pair<Sequence*, const float*>> finished;
  for (size_t j = 0; j < last.size(); ++j) {
    finished.emplace_back(prefilling_[last[j]].get(),
                          logits.data<float>() + static_cast<int64_t>(j) * vocab);
  }
  const std::vector<std::string> failures = sample_pending(finished);
  std::vector<int64_t> decode_rows;  // of decode_cache_, when some first tokens failed
  for (int64_t row = 0; row < decoding; ++row) decode_rows.push_back(row);
  std::vector<std::unique_ptr<Sequence>> kept;
  for (size_t i = 0, j = 0; i < prefilling_.size(); ++i) {
    if (j < last.size() && last[j] == static_cast<int64_t>(i)) {
      Sequence& s = *prefilling_[i];
      s.processed += 1;
      out.prompt.push_back({.uid = s.uid,
                            .processed = s.prompt_end - s.prompt_begin,
                            .total = s.prompt_end - s.prompt_begin,
                            .end_of_segment = true,
                            .end_of_prompt = true});
      const int64_t row = decoding + static_cast<int64_t>(j);
      if (failures[j].empty()) {
        decode_rows.push_back(row);
        decoding_.push_back(std::move(prefilling_[i]));
      } else {  // no first token: the sequence ends with its prompt processed
        BatchTokenResponse r{.uid = s.uid, .token = -1, .finish_reason = "error"};
        r.error = failures[j];
        attach_cache(r, s, decode_cache_, row);
        out.generation.push_back(std::move(r));
      }
      ++j;
    } else {
      kept.push_back(std::move(prefilling_[i]));
    }
  }
  prefilling_ = std::move(kept);
  if (decode_rows.size() < static_cast<size_t>(decoding) + last.size()) {
    batch_layers::filter(decode_cache_, decode_rows);
  }
}

// Where a prefilling sequence's next chunk must end: its next segment end, else just before its
// last prompt token (which finish_prompts feeds to sample the first token).
int64_t BatchGenerator::next_pause(const Sequence& s) {
  for (int64_t e : s.segment_ends) {
    if (e > s.processed) return e;
  }
  return s.prompt_end - 1;
}

void BatchGenerator::prefill_chunk(Step& out) {
  // Every prefilling sequence contributes up to prefill_step_size tokens, never past its next
  // pause; shorter contributions are right-padded, and finalize() turns that padding into left
  // padding.
  const auto batch = static_cast<int64_t>(prefilling_.size());
  std::vector<int64_t> lengths(batch), right_padding(batch);
  int64_t width = 0;
  for (int64_t b = 0; b < batch; ++b) {
    const Sequence& s = *prefilling_[b];
    lengths[b] = std::min<int64_t>(options_.prefill_step_size, next_pause(s) - s.processed);
    width = std::max(width, lengths[b]);
  }
  std::vector<int32_t> tokens(batch * width, 0);
  for (int64_t b = 0; b < batch; ++b) {
    const Sequence& s = *prefilling_[b];
    std::copy_n(s.tokens.begin() + s.processed, lengths[b], tokens.begin() + b * width);
    right_padding[b] = width - lengths[b];
  }
  BatchPrepare prep;
  prep.lengths = lengths;
  prep.right_padding = right_padding;
  for (auto& layer : prefill_cache_) layer->prepare(prep);
  model_.forward(tokens, batch, prefill_cache_, /*last_only=*/true);
  for (auto& layer : prefill_cache_) layer->finalize();
  for (int64_t b = 0; b < batch; ++b) {
    Sequence& s = *prefilling_[b];
    const int64_t pause = next_pause(s);
    s.processed += lengths[b];
    stats_.prompt_tokens += lengths[b];
    out.prompt.push_back({.uid = s.uid,
                          .processed = s.processed - s.prompt_begin,
                          .total = s.prompt_end - s.prompt_begin,
                          .end_of_segment = s.processed == pause,
                          .end_of_prompt = false});
  }
}

void BatchGenerator::prefill_step(Step& out) {
  Timer timer;
  admit_queued();
  finish_prompts(out);
  if (!prefilling_.empty()) prefill_chunk(out);
  stats_.prompt_time += timer.seconds();
}

BatchGenerator::Step BatchGenerator::next() {
  if (!failure_.empty()) {
    throw InvalidInput("generate",
                       "the batch generator cannot go on after a failed step (" + failure_ + ")");
  }
  Step out;
  // A throw mid-step (the model, or copying caches) leaves that batch's caches fed partway and
  // its sequences not advanced: stepping it again would feed stale tokens and go on silently
  // wrong, so the batch ends. The queue and the other batch are untouched and go on.
  try {
    if (!decoding_.empty()) {
      try {
        decode_step(out);
      } catch (...) {
        fail_batch(out, decoding_, decode_cache_, current_exception_message());
      }
    }
    if (static_cast<int>(decoding_.size()) < options_.completion_batch_size &&
        (!queue_.empty() || !prefilling_.empty())) {
      try {
        prefill_step(out);
      } catch (...) {
        fail_batch(out, prefilling_, prefill_cache_, current_exception_message());
      }
    }
  } catch (const std::exception& e) {
    failure_ = e.what();
    throw;
  }
  return out;
}

std::vector<BatchTokenResponse> BatchGenerator::next_generated() {
  while (!done()) {
    Step s = next();
    if (!s.generation.empty()) return std::move(s.generation);
  }
  return {};
}

BatchStats BatchGenerator::stats() const {
  BatchStats s = stats_;
  s.prompt_tps = s.prompt_time > 0 ? static_cast<double>(s.prompt_tokens) / s.prompt_time : 0;
  s.generation_tps =
      s.generation_time > 0 ? static_cast<double>(s.generation_tokens) / s.generation_time : 0;
  s.peak_memory = static_cast<double>(peak_memory_bytes()) / 1e9;
  return s;
}

}  // namespace mlxlm
