// ReadQueue: a leader's pending linearizable reads (ReadIndex, dissertation 6.4). Each read
// records the commit index when it arrived and waits until a heartbeat round *started after
// it arrived* was answered by a majority, which proves no newer leader existed at arrival.
// Reads arriving between two Ready drains share one round (batching). Owned by RaftNode.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "raft/ready.h"
#include "raft/types.h"

namespace kv::raft {

class ReadQueue {
 public:
  // Queues a read to be confirmed by the next heartbeat round; `index` is the leader's
  // commit index now. REQUIRES: the leader has committed an entry of its current term.
  void add(uint64_t request_id, Index index);
  // Parks a read until the leader commits its first entry of the term (its commit index
  // may be stale before that).
  void park(uint64_t request_id) { parked_.push_back(request_id); }
  // The leader just committed in its term: parked reads join the queue at `index`.
  void unpark(Index index);

  // Whether reads wait for a heartbeat round that has not been started.
  bool needs_round() const { return !pending_.empty() && pending_.back().seq > last_round_; }
  // Starts a round; returns its sequence number to put in the heartbeats.
  uint64_t start_round() { return ++last_round_; }
  uint64_t last_round() const { return last_round_; }

  // A majority answered rounds up to `seq`: moves the reads they cover to `out`.
  void confirm(uint64_t seq, std::vector<ReadState>* out);
  // Leadership lost: every read fails.
  void drop_all(std::vector<uint64_t>* out);

 private:
  struct Pending {
    uint64_t request_id;
    Index index;
    uint64_t seq;  // the first round that may confirm it
  };
  // Invariant: ordered by seq; every seq <= last_round_ + 1.
  std::deque<Pending> pending_;
  std::vector<uint64_t> parked_;
  // Only grows, across terms too, so answers from an old term can never confirm a read.
  uint64_t last_round_ = 0;
};

}  // namespace kv::raft
