// TestCluster: a few RaftNodes wired by hand for unit tests. Nothing happens unless the
// test asks: messages wait in `queue` until delivered, ticks are explicit, and a node's
// writes count as durable when the test says so (or at once with auto_persist). Nodes can
// be added later (add_node) and stopped (stop): messages to a stopped node are lost.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include <doctest/doctest.h>

#include "raft/raft_node.h"

namespace kv::raft::testing {

inline Config test_config() {
  Config config;
  config.election_timeout_min = 10;
  config.election_timeout_max = 20;
  config.heartbeat_interval = 2;
  return config;
}

class TestCluster {
 public:
  explicit TestCluster(size_t size, Config config = test_config(),
                       std::map<NodeId, RecoveredState> recovered = {})
      : config_(config) {
    std::vector<NodeId> voters;
    for (NodeId id = 1; id <= size; ++id) voters.push_back(id);
    for (NodeId id : voters) {
      add_node(id, voters, recovered.count(id) ? recovered[id] : RecoveredState{});
    }
  }

  // Starts node `id` with `voters` as its initial configuration (none: it waits to be
  // added to the cluster).
  RaftNode& add_node(NodeId id, std::vector<NodeId> voters = {}, RecoveredState state = {}) {
    if (std::find(ids_.begin(), ids_.end(), id) == ids_.end()) ids_.push_back(id);
    nodes_[id] = std::make_unique<RaftNode>(id, std::move(voters), config_, 42, std::move(state));
    auto_persist[id] = true;
    return *nodes_[id];
  }
  // The node is gone for good (its process stopped): nothing is delivered to it.
  void stop(NodeId id) {
    nodes_.erase(id);
    ids_.erase(std::remove(ids_.begin(), ids_.end(), id), ids_.end());
  }
  bool running(NodeId id) const { return nodes_.count(id) > 0; }
  const std::vector<NodeId>& ids() const { return ids_; }

  RaftNode& node(NodeId id) { return *nodes_.at(id); }

  // Takes one Ready from `id` and acts on it like a host; returns it for inspection.
  Ready drain(NodeId id) {
    Ready ready = node(id).take_ready();
    if (ready.hard_state) hard_states[id] = *ready.hard_state;
    if (ready.membership) memberships[id].push_back(*ready.membership);
    if (ready.install_snapshot) installed[id].push_back(*ready.install_snapshot);
    for (Message& message : ready.messages) queue.push_back(message);
    for (const Entry& entry : ready.committed_entries) applied[id].push_back(entry);
    for (const ReadState& read : ready.read_states) reads[id].push_back(read);
    if (!applied[id].empty()) node(id).applied(applied[id].back().index);
    if (auto_persist[id] && !ready.entries.empty()) {
      node(id).persisted(ready.entries.back().index, ready.entries.back().term);
    }
    return ready;
  }
  void drain_all() {
    for (NodeId id : ids_) drain(id);
  }

  // Delivers what is queued now (dropping what `cut` forbids or nobody runs to receive),
  // then drains every node: one network hop.
  void deliver_round() {
    std::deque<Message> batch;
    batch.swap(queue);
    for (const Message& message : batch) {
      if (cut(message.from, message.to) || !running(message.to)) continue;
      delivered.push_back(message);
      node(message.to).step(message);
    }
    drain_all();
  }

  // Delivers queued messages and drains, until quiet.
  void stabilize(int max_rounds = 100) {
    drain_all();
    for (int round = 0; round < max_rounds && !queue.empty(); ++round) deliver_round();
  }

  void tick(NodeId id, int times = 1) {
    for (int i = 0; i < times; ++i) node(id).tick();
  }
  void tick_all(int times = 1) {
    for (int i = 0; i < times; ++i) {
      for (NodeId id : ids_) node(id).tick();
    }
  }

  // Makes `id` time out (nobody else ticks) and runs the election to the end.
  void elect(NodeId id) {
    tick(id, config_.election_timeout_max);
    stabilize();
  }

  void isolate(NodeId id) { isolated_.push_back(id); }
  void heal() { isolated_.clear(); }
  bool cut(NodeId from, NodeId to) const {
    auto alone = [&](NodeId n) {
      return std::find(isolated_.begin(), isolated_.end(), n) != isolated_.end();
    };
    return alone(from) != alone(to) || (alone(from) && alone(to) && from != to);
  }

  // Queued messages of one kind, removed from the queue.
  template <typename T>
  std::vector<Message> take(NodeId from = kNoNode) {
    std::vector<Message> out;
    std::deque<Message> rest;
    for (Message& message : queue) {
      bool match =
          std::holds_alternative<T>(message.body) && (from == kNoNode || message.from == from);
      if (match) {
        out.push_back(message);
      } else {
        rest.push_back(message);
      }
    }
    queue.swap(rest);
    return out;
  }

  std::deque<Message> queue;
  std::vector<Message> delivered;  // by stabilize()
  std::map<NodeId, bool> auto_persist;
  std::map<NodeId, HardState> hard_states;
  std::map<NodeId, std::vector<Entry>> applied;
  std::map<NodeId, std::vector<ReadState>> reads;
  std::map<NodeId, std::vector<SnapshotInstall>> installed;
  std::map<NodeId, std::vector<Membership>> memberships;  // Ready::membership, in order

 private:
  Config config_;
  std::vector<NodeId> ids_;
  std::map<NodeId, std::unique_ptr<RaftNode>> nodes_;
  std::vector<NodeId> isolated_;
};

// Entries 1..n of term `term` with payloads "e1".."en" (for RecoveredState).
inline std::vector<Entry> entries_of_term(Index first, Index last, Term term) {
  std::vector<Entry> out;
  for (Index i = first; i <= last; ++i) {
    out.push_back({i, term, EntryType::kCommand, "e" + std::to_string(i)});
  }
  return out;
}

// Node 1 leads a cluster of `size` voters, its no-op committed and known everywhere, and it
// has heard from every follower.
inline TestCluster led_by_1(size_t size, Config config = test_config()) {
  TestCluster cluster(size, config);
  cluster.elect(1);
  cluster.tick(1, 2);
  cluster.stabilize();
  REQUIRE(cluster.node(1).role() == Role::kLeader);
  return cluster;
}

}  // namespace kv::raft::testing
