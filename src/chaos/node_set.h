// NodeSet: the nodes of a chaos run that clients and faults may pick, as it changes during the
// run: a membership fault adds a node once it votes and takes one out before removing it, so
// a client never picks a node that is gone or going. Thread-safe: the fault thread changes it
// while every client thread reads it.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace kv::chaos {

struct NodeEndpoint {
  int id = 0;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  bool operator==(const NodeEndpoint&) const = default;
};

class NodeSet {
 public:
  NodeSet() = default;
  explicit NodeSet(std::vector<NodeEndpoint> nodes) : nodes_(std::move(nodes)) {}
  NodeSet(const NodeSet&) = delete;
  NodeSet& operator=(const NodeSet&) = delete;

  // The nodes now, in the order added.
  std::vector<NodeEndpoint> snapshot() const;
  std::vector<int> ids() const;
  std::optional<NodeEndpoint> find(int id) const;
  // Adds node, or replaces the node of its id.
  void add(const NodeEndpoint& node);
  // False when there was no node id.
  bool remove(int id);
  // nodes[index % size]: a pick by a random number; nullopt when the set is empty.
  std::optional<NodeEndpoint> pick(uint64_t random) const;

 private:
  mutable std::mutex mu_;
  std::vector<NodeEndpoint> nodes_;  // guarded by mu_; ids unique
};

}  // namespace kv::chaos
