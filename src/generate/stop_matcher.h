#pragma once
// mlx-lm's StopSequenceMatcher: an Aho-Corasick automaton over token-id sequences (EOS ids as
// one-token sequences plus tokenized stop words), advanced one generated token at a time.
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace mlxlm {

class StopSequenceMatcher {
 public:
  StopSequenceMatcher() = default;
  explicit StopSequenceMatcher(const std::vector<std::vector<int32_t>>& sequences);

  // Feeds one token; true when some stop sequence ends at it.
  bool advance(int32_t token);
  void reset() { state_ = 0; }
  bool empty() const { return nodes_.size() <= 1; }

 private:
  struct Node {
    std::map<int32_t, int> next;
    int fail = 0;
    bool terminal = false;  // a sequence (or a suffix of this path) ends here
  };
  std::vector<Node> nodes_{Node{}};
  int state_ = 0;
};

}  // namespace mlxlm
