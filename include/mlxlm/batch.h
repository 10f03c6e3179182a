#pragma once
// Continuous batching (spec 2.4): sequences join and leave at any stage; every decode step feeds
// one token of every active sequence through the model at once, so the weights are read once
// for the whole batch.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cache/cache.h"
#include "mlxlm/generate.h"

namespace mlxlm {

class StopSequenceMatcher;

struct BatchGeneratorOptions {
  int max_tokens = 128;                            // default per-sequence limit
  std::vector<std::vector<int32_t>> stop_tokens;   // default stop sequences (EOS ids as {id})
  SamplerOptions sampler;                          // the fallback sampler (greedy by default)
  std::vector<LogitsProcessor> logits_processors;  // default processors
  int completion_batch_size = 32;                  // sequences decoding together
  int prefill_batch_size = 8;                      // sequences prefilling at the same time
  int prefill_step_size = 2048;                    // prompt tokens per forward pass
  int64_t max_kv_size = 0;                         // > 0: rotating caches of this size
  // Whether finished responses carry their caches. Extracting one copies the sequence's keys
  // and values (mlx-lm's extraction is lazy, paid only when used): a caller that never reuses
  // them, like `mlxlm bench`, turns it off.
  bool return_prompt_caches = true;
};

// One sequence to insert. Unset fields take the generator's defaults.
struct BatchRequest {
  std::vector<int32_t> prompt;
  std::optional<int> max_tokens;
  // A cache that already holds `cached_tokens` (e.g. from an earlier finished response); the
  // prompt continues after them. Not modified: the generator works on a copy.
  const PromptCache* cache = nullptr;
  std::vector<int32_t> cached_tokens;
  std::optional<SamplerOptions> sampler;
  std::optional<std::vector<LogitsProcessor>> logits_processors;
  std::optional<std::vector<std::vector<int32_t>>> stop_tokens;
  // Offsets into `prompt` (increasing, each in (0, prompt.size())) where prompt processing
  // pauses and reports end_of_segment: extract_cache() then gives a cache that holds exactly
  // cached_tokens + prompt[0, offset), e.g. a conversation's shared prefix to keep for reuse
  // (mlx-lm's insert_segments).
  std::vector<int64_t> segment_ends;
};

struct BatchPromptResponse {
  uint64_t uid = 0;
  int64_t processed = 0;
  int64_t total = 0;
  bool end_of_segment = false;  // at one of the request's segment_ends, or the prompt's end
  bool end_of_prompt = false;
};

// A sequence's cache and the tokens it holds, in order.
struct SequenceCache {
  PromptCache cache;
  std::vector<int32_t> tokens;
};

struct BatchTokenResponse {
  uint64_t uid = 0;
  int32_t token = 0;  // -1 (and no logprobs) when the sequence failed without a new token
  std::vector<float> logprobs;
  // "", "stop" (a stop sequence matched), "length", or "error", with the exception's message in
  // `error`. A sequence ends with "error" alone when its own logits processors or sampler throw
  // while choosing its next token; every sequence of a batch does when that batch's forward pass
  // fails (the decoding batch, or the prompts being processed: the model threw, e.g. out of
  // memory). The generator goes on with the rest.
  std::string finish_reason;
  std::string error;
  // Only when finished (and the options' return_prompt_caches): the sequence's cache (holding
  // every reported token, the last included) and the tokens it contains. None when its batch's
  // forward pass failed, as the batch's caches were then fed only partway.
  PromptCache prompt_cache;
  std::vector<int32_t> all_tokens;
};

struct BatchStats {
  int64_t prompt_tokens = 0;
  double prompt_time = 0;
  double prompt_tps = 0;
  int64_t generation_tokens = 0;
  double generation_time = 0;
  double generation_tps = 0;
  double peak_memory = 0;  // GB
};

class BatchGenerator {
 public:
  BatchGenerator(const Model& model, BatchGeneratorOptions options = {});
  ~BatchGenerator();
  BatchGenerator(const BatchGenerator&) = delete;
  BatchGenerator& operator=(const BatchGenerator&) = delete;

  // Queues sequences; returns their uids (increasing). Every request is checked first (prompt
  // not empty, token ids inside the vocabulary, a given cache with the model's layers, of the
  // kinds this generator batches, holding as many tokens as cached_tokens), so that a bad one
  // throws here and queues nothing, instead of failing a later next() for the whole batch.
  std::vector<uint64_t> insert(std::vector<BatchRequest> requests);
  // Drops sequences wherever they are (queued, prefilling, decoding); with
  // `return_prompt_caches`, returns their caches as extract_cache() would. Unknown uids are
  // ignored.
  std::map<uint64_t, SequenceCache> remove(const std::vector<uint64_t>& uids,
                                           bool return_prompt_caches = false);
  // Copies of the caches of sequences wherever they are, with the tokens each holds: the
  // processed part of the prompt while queued or prefilling (so, between calls to next(), up to
  // the segment end just reported), and the prompt and every reported token once decoding.
  // Unknown uids are left out.
  std::map<uint64_t, SequenceCache> extract_cache(const std::vector<uint64_t>& uids) const;

  struct Step {
    std::vector<BatchPromptResponse> prompt;
    std::vector<BatchTokenResponse> generation;
  };
  // One round: a decode step for the decoding batch, then some prefill work. Failures end
  // sequences with finish_reason "error" (see BatchTokenResponse) instead of throwing. Only if
  // ending them throws too (memory exhausted even for that) does next() throw, and the
  // generator is then spent: every later call throws as well.
  Step next();
  // Rounds until some tokens are reported (empty when nothing is left to do).
  std::vector<BatchTokenResponse> next_generated();
  bool done() const;

  BatchStats stats() const;
  size_t prompt_cache_nbytes() const;

 private:
  struct Sequence;
  void check_request(const BatchRequest& r) const;
  static int64_t next_pause(const Sequence& s);
  void decode_step(Step& out);
  void prefill_step(Step& out);
  void admit_queued();
  void finish_prompts(Step& out);
  // Moves the prompts `last` (rows of prefilling_) that finished in `finishing` into the
  // decoding batch, each with its first token sampled from its row of `logits`.
  void join_decoding(Step& out, PromptCache&& finishing, const Tensor& logits,
                     const std::vector<int64_t>& last);
  void prefill_chunk(Step& out);
  // Samples each sequence's pending token from its row of logits. A sequence whose logits
  // processors or sampler throw gets the message in its slot of the result (empty: sampled).
  std::vector<std::string> sample_pending(
      const std::vector<std::pair<Sequence*, const float*>>& rows);
  // Gives a finished response the sequence's cache (row `row` of `batch`) and tokens, when the
  // options ask for them.
  void attach_cache(BatchTokenResponse& r, const Sequence& s, const PromptCache& batch,
                    int64_t row) const;
  // Ends every sequence of a batch whose step threw (`why`), and empties the batch: a sequence
  // already reported this step without finishing ends with that token, the others with none.
  void fail_batch(Step& out, std::vector<std::unique_ptr<Sequence>>& batch, PromptCache& cache,
                  const std::string& why);

  const Model& model_;
  BatchGeneratorOptions options_;
  std::unique_ptr<Sampler> fallback_sampler_;
  uint64_t next_uid_ = 0;
  std::deque<std::unique_ptr<Sequence>> queue_;
  std::vector<std::unique_ptr<Sequence>> prefilling_;  // row i of prefill_cache_
  PromptCache prefill_cache_;
  std::vector<std::unique_ptr<Sequence>> decoding_;  // row i of decode_cache_
  PromptCache decode_cache_;
  BatchStats stats_;
  std::string failure_;  // what made a step throw; non-empty: the generator is spent
};

struct BatchGenerateResult {
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> token_ids;
  std::vector<std::vector<float>> logprobs;  // logprob of each generated token
  // With options.return_prompt_caches: each sequence's cache, holding its prompt and every
  // generated token, the stop token included.
  std::vector<PromptCache> caches;
  // Per prompt: why its sequence ended early (a logits processor, the sampler or its batch's
  // forward pass threw; its tokens are those before, and it has no cache when the forward pass
  // did), or "" when it did not.
  std::vector<std::string> errors;
  BatchStats stats;
};

// batch_generate: generates for every prompt (stop tokens = EOS ids, which are left out of the
// outputs) and decodes each with the tokenizer. `max_tokens`: empty (the options' default), one
// value, or one per prompt. `prompt_caches`: empty, or one per prompt (null: none), each holding
// tokens that come before its prompt; they are copied, not modified.
BatchGenerateResult batch_generate(const Model& model, const Tokenizer& tokenizer,
                                   const std::vector<std::vector<int32_t>>& prompts,
                                   const std::vector<int>& max_tokens,
                                   const std::set<int32_t>& eos_token_ids,
                                   BatchGeneratorOptions options = {},
                                   const std::vector<const PromptCache*>& prompt_caches = {});

}  // namespace mlxlm
