// Progress: what a leader knows about replicating to one follower (voter or learner) — how far the
// follower's log matches (match), what to send next (next), and which of three modes the sender is
// in. Owned by the leader's RaftNode, one per peer; rebuilt at every election. Not thread-safe.
#pragma once

#include <cstddef>
#include <deque>

#include "raft/types.h"

namespace kv::raft {

class Progress {
 public:
  enum class State {
    kProbe,      // where the logs diverge is unknown: one AppendEntries at a time
    kReplicate,  // logs match at next - 1: stream optimistically, up to a window in flight
    kSnapshot,   // the follower needs entries we compacted: sending a snapshot instead
  };

  explicit Progress(Index next) : next_(next) {}

  State state() const { return state_; }
  Index match() const { return match_; }
  Index next() const { return next_; }

  // Whether an AppendEntries may be sent now (probe not outstanding, window not full).
  bool can_send_append(size_t max_inflight) const;
  // Records an AppendEntries carrying entries up to last_index (prev_index if empty).
  void on_append_sent(Index last_index, bool had_entries);

  // A success acknowledgement: through `match` durable, through `accepted` matching.
  // Returns whether match advanced.
  bool on_ack(Index match, Index accepted);
  // A rejection of the append whose prev_index was `rejected`; `new_next` is where to
  // retry. Returns false when the rejection is stale and was ignored.
  bool on_reject(Index rejected, Index new_next);

  // Any response: the follower is alive (CheckQuorum) and a paused probe may go again.
  void on_response() {
    recent_active_ = true;
    probe_sent_ = false;
  }
  // A heartbeat response while the follower lags: let one more append through, even if the
  // window is full (a lost append would otherwise hold its slot forever).
  void unstick(size_t max_inflight);

  // Starts sending `snapshot` (held here: the leader may compact again meanwhile, and
  // restarting the transfer each time could starve the follower).
  void become_snapshot(SnapshotMeta snapshot, SnapshotData data);
  Index pending_snapshot() const { return pending_snapshot_.last_index; }
  const SnapshotMeta& snapshot_meta() const { return pending_snapshot_; }
  const SnapshotData& snapshot_data() const { return snapshot_data_; }
  uint64_t snapshot_offset() const { return snapshot_offset_; }
  void set_snapshot_offset(uint64_t offset) { snapshot_offset_ = offset; }

  bool recent_active() const { return recent_active_; }
  // Starts a new CheckQuorum round (every election_timeout_min ticks).
  void clear_recent_active() {
    active_last_round_ = recent_active_;
    recent_active_ = false;
  }
  // Heard from in this CheckQuorum round or the one before: a membership change counts on
  // this, so a round that just started does not make every follower look gone.
  bool recently_active() const { return recent_active_ || active_last_round_; }
  uint64_t read_seq_acked() const { return read_seq_acked_; }
  void ack_read_seq(uint64_t seq) {
    if (seq > read_seq_acked_) read_seq_acked_ = seq;
  }

 private:
  void become_probe();
  void become_replicate();

  State state_ = State::kProbe;
  // Invariant: match_ < next_. match_ only grows: those entries are durable on the follower
  // and equal to ours, so they count toward commit.
  Index match_ = 0;
  Index next_;
  // kProbe: an append is outstanding; wait for its response (or a heartbeat response).
  bool probe_sent_ = false;
  // kReplicate: last index carried by each unacknowledged append, oldest first.
  std::deque<Index> inflight_;
  // kSnapshot: the snapshot being sent and how much of it the follower confirmed.
  SnapshotMeta pending_snapshot_;
  SnapshotData snapshot_data_;
  uint64_t snapshot_offset_ = 0;
  // Heard from since the last CheckQuorum round; and in the round before that.
  bool recent_active_ = false;
  bool active_last_round_ = false;
  // Highest ReadIndex heartbeat sequence the follower answered in this term.
  uint64_t read_seq_acked_ = 0;
};

}  // namespace kv::raft
