#include "generate/stop_matcher.h"

#include <deque>

namespace mlxlm {

StopSequenceMatcher::StopSequenceMatcher(const std::vector<std::vector<int32_t>>& sequences) {
  for (const auto& seq : sequences) {
    if (seq.empty()) continue;
    int node = 0;
    for (int32_t t : seq) {
      auto it = nodes_[node].next.find(t);
      if (it == nodes_[node].next.end()) {
        nodes_.push_back(Node{});
        int created = static_cast<int>(nodes_.size()) - 1;
        nodes_[node].next[t] = created;
        node = created;
      } else {
        node = it->second;
      }
    }
    nodes_[node].terminal = true;
  }
  // Breadth-first failure links; a node is terminal when its longest proper suffix state is.
  std::deque<int> queue;
  for (const auto& [t, child] : nodes_[0].next) queue.push_back(child);
  while (!queue.empty()) {
    int node = queue.front();
    queue.pop_front();
    for (const auto& [t, child] : nodes_[node].next) {
      int f = nodes_[node].fail;
      while (f != 0 && nodes_[f].next.count(t) == 0) f = nodes_[f].fail;
      auto it = nodes_[f].next.find(t);
      nodes_[child].fail = (it != nodes_[f].next.end() && it->second != child) ? it->second : 0;
      nodes_[child].terminal = nodes_[child].terminal || nodes_[nodes_[child].fail].terminal;
      queue.push_back(child);
    }
  }
}

bool StopSequenceMatcher::advance(int32_t token) {
  while (state_ != 0 && nodes_[state_].next.count(token) == 0) state_ = nodes_[state_].fail;
  auto it = nodes_[state_].next.find(token);
  state_ = it == nodes_[state_].next.end() ? 0 : it->second;
  return nodes_[state_].terminal;
}

}  // namespace mlxlm
