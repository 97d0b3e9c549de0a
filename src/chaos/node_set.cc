#include "chaos/node_set.h"

#include <algorithm>

namespace kv::chaos {

std::vector<NodeEndpoint> NodeSet::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return nodes_;
}

std::vector<int> NodeSet::ids() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int> ids;
  for (const NodeEndpoint& n : nodes_) ids.push_back(n.id);
  return ids;
}

std::optional<NodeEndpoint> NodeSet::find(int id) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const NodeEndpoint& n : nodes_) {
    if (n.id == id) return n;
  }
  return std::nullopt;
}

void NodeSet::add(const NodeEndpoint& node) {
  std::lock_guard<std::mutex> lock(mu_);
  for (NodeEndpoint& n : nodes_) {
    if (n.id == node.id) {
      n = node;
      return;
    }
  }
  nodes_.push_back(node);
}

bool NodeSet::remove(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find_if(nodes_.begin(), nodes_.end(),
                         [id](const NodeEndpoint& n) { return n.id == id; });
  if (it == nodes_.end()) return false;
  nodes_.erase(it);
  return true;
}

std::optional<NodeEndpoint> NodeSet::pick(uint64_t random) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (nodes_.empty()) return std::nullopt;
  return nodes_[random % nodes_.size()];
}

}  // namespace kv::chaos
