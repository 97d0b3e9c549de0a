// Tuning knobs of one RaftNode. Time is counted in ticks: the host decides how long a
// tick is (e.g. 10 ms) and calls RaftNode::tick() that often. Plain value type.
#pragma once

#include <cstddef>
#include <string>

namespace kv::raft {

struct Config {
  // A follower that hears nothing from a leader for a random number of ticks in
  // [election_timeout_min, election_timeout_max) starts an election. Randomness keeps
  // candidates from splitting the vote forever.
  int election_timeout_min = 10;
  int election_timeout_max = 20;
  // A leader sends heartbeats this often; must be well below election_timeout_min.
  int heartbeat_interval = 2;

  // Batching limits for one AppendEntries (at least one entry is always sent).
  size_t max_entries_per_append = 256;
  size_t max_bytes_per_append = 1 << 20;
  // Pipelining: AppendEntries a leader may have unacknowledged per peer.
  size_t max_inflight_appends = 16;
  // InstallSnapshot chunk size.
  size_t snapshot_chunk_bytes = 1 << 20;

  // PreVote (dissertation 9.6): a node first asks whether it could win before bumping its
  // term, so a partitioned node rejoining does not depose a healthy leader.
  bool pre_vote = true;
  // CheckQuorum: a leader that has not heard from a majority within election_timeout_min
  // ticks steps down, and followers that heard from a leader within that time ignore votes.
  bool check_quorum = true;

  // Membership: a learner is promoted to voter only while its log lags the leader's last
  // index by at most this many entries (it could otherwise stall commits as a voter).
  uint64_t max_promotion_lag = 64;

  // Returns "" when the config is usable, else what is wrong with it.
  std::string validate() const;
};

}  // namespace kv::raft
