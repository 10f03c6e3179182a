#include "cache/cache_list.h"

#include <algorithm>

#include "base/error.h"

namespace mlxlm {

int64_t CacheList::offset() const {
  int64_t o = 0;
  for (const auto& c : caches_) o = std::max(o, c->offset());
  return o;
}

bool CacheList::is_trimmable() const {
  for (const auto& c : caches_) {
    if (!c->is_trimmable()) return false;
  }
  return true;
}

int64_t CacheList::trim(int64_t n) {
  int64_t m = 0;
  for (auto& c : caches_) m = c->trim(n);
  return m;
}

int64_t CacheList::size() const {
  int64_t s = 0;
  for (const auto& c : caches_) s = std::max(s, c->size());
  return s;
}

size_t CacheList::nbytes() const {
  size_t n = 0;
  for (const auto& c : caches_) n += c->nbytes();
  return n;
}

StateTree CacheList::state() const {
  StateTree s;
  for (const auto& c : caches_) s.add(c->state());
  return s;
}

void CacheList::set_state(StateTree state) {
  expect_list(state, caches_.size(), "CacheList");
  for (size_t i = 0; i < caches_.size(); ++i) caches_[i]->set_state(std::move(state.items[i]));
}

MetaTree CacheList::meta_state() const {
  MetaTree names = MetaTree::list(), metas = MetaTree::list();
  for (const auto& c : caches_) {
    names.items.push_back(MetaTree::str(c->class_name()));
    metas.items.push_back(c->meta_state());
  }
  return MetaTree::list({names, metas});
}

void CacheList::set_meta_state(const MetaTree& meta) {
  if (meta.is_leaf || meta.items.size() != 2 || meta.items[1].items.size() != caches_.size()) {
    throw InvalidInput("cache",
                       "CacheList meta state must be ([class names], [meta states]) with " +
                           std::to_string(caches_.size()) + " children");
  }
  for (size_t i = 0; i < caches_.size(); ++i) caches_[i]->set_meta_state(meta.items[1].items[i]);
}

void CacheList::validate() const {
  for (const auto& c : caches_) c->validate();
}

std::unique_ptr<Cache> CacheList::copy() const {
  std::vector<std::unique_ptr<Cache>> children;
  for (const auto& c : caches_) children.push_back(c->copy());
  return std::make_unique<CacheList>(std::move(children));
}

void CacheList::filter(const std::vector<int64_t>& indices) {
  for (auto& c : caches_) c->filter(indices);
}

void CacheList::extend(Cache& other) {
  auto* o = dynamic_cast<CacheList*>(&other);
  if (o == nullptr || o->caches_.size() != caches_.size()) {
    throw InvalidInput("cache", "CacheList can only be extended by a CacheList of the same size");
  }
  for (size_t i = 0; i < caches_.size(); ++i) caches_[i]->extend(*o->caches_[i]);
}

std::unique_ptr<Cache> CacheList::extract(int64_t idx) const {
  std::vector<std::unique_ptr<Cache>> children;
  for (const auto& c : caches_) children.push_back(c->extract(idx));
  return std::make_unique<CacheList>(std::move(children));
}

void CacheList::prepare(const BatchPrepare& args) {
  for (auto& c : caches_) c->prepare(args);
}

void CacheList::finalize() {
  for (auto& c : caches_) c->finalize();
}

}  // namespace mlxlm
