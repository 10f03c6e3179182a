#pragma once
// mlx-lm's CacheList: several caches serving one layer (e.g. an SSM state plus attention KV, or
// two attention blocks). Every operation delegates to the children.
#include "cache/cache.h"

namespace mlxlm {

class CacheList : public Cache {
 public:
  CacheList() = default;
  explicit CacheList(std::vector<std::unique_ptr<Cache>> caches) : caches_(std::move(caches)) {}

  std::string class_name() const override { return "CacheList"; }
  int64_t offset() const override;
  bool is_trimmable() const override;
  // Trims every child; returns the last child's count, as mlx-lm does.
  int64_t trim(int64_t n) override;
  int64_t size() const override;
  bool empty() const override { return caches_.empty() || caches_[0]->empty(); }
  size_t nbytes() const override;

  StateTree state() const override;
  void set_state(StateTree state) override;
  // ([child class names], [child meta states]).
  MetaTree meta_state() const override;
  void set_meta_state(const MetaTree& meta) override;
  void validate() const override;
  std::unique_ptr<Cache> copy() const override;

  void filter(const std::vector<int64_t>& indices) override;
  void extend(Cache& other) override;
  std::unique_ptr<Cache> extract(int64_t idx) const override;
  void prepare(const BatchPrepare& args) override;
  void finalize() override;

  size_t count() const { return caches_.size(); }
  Cache& operator[](size_t i) { return *caches_.at(i); }
  const Cache& operator[](size_t i) const { return *caches_.at(i); }
  std::vector<std::unique_ptr<Cache>>& children() { return caches_; }

 private:
  std::vector<std::unique_ptr<Cache>> caches_;
};

}  // namespace mlxlm
