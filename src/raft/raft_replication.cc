// RaftNode, leader side: sending AppendEntries / heartbeats / snapshot chunks, handling
// the answers, advancing the commit index and confirming reads.

#include <algorithm>
#include <functional>

#include "common/check.h"
#include "raft/raft_node.h"

namespace kv::raft {

// Sends whatever each follower's Progress allows: called once per Ready, so everything
// proposed since the last Ready travels in the same AppendEntries (batching).
void RaftNode::send_appends() {
  for (auto& [peer, progress] : progress_) {
    while (send_append(peer, progress, /*allow_empty=*/false)) {
    }
  }
}

// Sends one AppendEntries from progress.next() (or starts a snapshot if those entries are
// compacted). allow_empty sends one even with nothing new, to learn where the follower is.
// Returns whether entries were sent, i.e. whether another send might make progress.
bool RaftNode::send_append(NodeId to, Progress& progress, bool allow_empty) {
  if (!progress.can_send_append(config_.max_inflight_appends)) return false;
  Index prev_index = progress.next() - 1;
  std::optional<Term> prev_term = log_.term_at(prev_index);
  if (!prev_term) {
    KV_CHECK(prev_index < log_.snapshot().last_index);  // never beyond our log
    KV_CHECK(snapshot_data_ != nullptr);
    progress.become_snapshot(log_.snapshot(), snapshot_data_);
    send_snapshot_chunk(to, progress);
    return false;
  }
  if (progress.next() > log_.last_index() && !allow_empty) return false;
  AppendRequest request{prev_index, *prev_term, {}, commit_index_};
  if (progress.next() <= log_.last_index()) {
    request.entries =
        log_.slice(progress.next(), config_.max_entries_per_append, config_.max_bytes_per_append);
  }
  bool has_entries = !request.entries.empty();
  Index last = has_entries ? request.entries.back().index : prev_index;
  send(to, std::move(request));
  progress.on_append_sent(last, has_entries);
  return has_entries;
}

// Sends the chunk at progress.snapshot_offset() of the snapshot being transferred.
void RaftNode::send_snapshot_chunk(NodeId to, Progress& progress) {
  const std::string& data = *progress.snapshot_data();
  uint64_t offset = std::min<uint64_t>(progress.snapshot_offset(), data.size());
  size_t length = std::min<uint64_t>(config_.snapshot_chunk_bytes, data.size() - offset);
  bool done = offset + length == data.size();
  send(to, SnapshotChunk{progress.snapshot_meta(), offset, data.substr(offset, length), done});
}

void RaftNode::broadcast_heartbeat(uint64_t read_seq) {
  for (auto& [peer, progress] : progress_) {
    // Never more than the follower acknowledged: it can apply this commit index without
    // checking its log.
    Index commit = std::min(commit_index_, progress.match());
    send(peer, Heartbeat{commit, read_seq});
    // A lost chunk would stall the transfer: heartbeats double as its retry timer.
    if (progress.state() == Progress::State::kSnapshot) send_snapshot_chunk(peer, progress);
  }
}

void RaftNode::handle_append_response(const Message& message, const AppendResponse& response) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(message.from);
  if (it == progress_.end()) return;  // not (or no longer) a member
  Progress& progress = it->second;
  progress.on_response();
  if (response.success) {
    bool advanced = progress.on_ack(response.match_index, response.accepted_index);
    maybe_send_timeout_now(message.from, progress);
    if (advanced) maybe_commit();  // last: a leader that committed its removal steps down
  } else {
    progress.on_reject(response.reject_index, backtrack_target(response));
  }
}

// Where to retry after a rejection (dissertation 5.3's optimisation): skip the follower's
// whole run of the conflicting term unless we hold that term too.
Index RaftNode::backtrack_target(const AppendResponse& response) const {
  if (response.hint_term != 0) {
    std::optional<Index> ours = log_.last_index_of_term(response.hint_term, response.reject_index);
    if (ours) return *ours + 1;
  }
  return response.hint_index;
}

void RaftNode::handle_heartbeat_response(const Message& message,
                                         const HeartbeatResponse& response) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(message.from);
  if (it == progress_.end()) return;
  Progress& progress = it->second;
  progress.on_response();
  progress.ack_read_seq(response.read_seq);
  confirm_reads();
  if (progress.match() < log_.last_index()) {
    progress.unstick(config_.max_inflight_appends);
    send_append(message.from, progress, /*allow_empty=*/true);
  }
  maybe_send_timeout_now(message.from, progress);  // a lost TimeoutNow goes again
}

void RaftNode::handle_snapshot_response(const Message& message, const SnapshotResponse& response) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(message.from);
  if (it == progress_.end()) return;
  Progress& progress = it->second;
  progress.on_response();
  if (progress.state() != Progress::State::kSnapshot ||
      response.snapshot_index != progress.pending_snapshot() ||
      response.next_offset == progress.snapshot_offset()) {
    return;  // stale or duplicate
  }
  progress.set_snapshot_offset(response.next_offset);
  send_snapshot_chunk(message.from, progress);
}

// The highest value a majority of the current configuration's voters has reached: `own`
// for this node (when it is a voter), of(progress) for the others. 0 without voters.
uint64_t RaftNode::quorum_value(uint64_t own, uint64_t (*of)(const Progress&)) const {
  const Membership& members = membership();
  if (members.voters.empty()) return 0;
  std::vector<uint64_t> values;
  for (NodeId voter : members.voters) {
    if (voter == id_) {
      values.push_back(own);
    } else {
      auto it = progress_.find(voter);
      values.push_back(it == progress_.end() ? 0 : of(it->second));
    }
  }
  std::sort(values.begin(), values.end(), std::greater<>());
  return values[members.quorum() - 1];
}

// Commits the highest index durable on a majority of the current configuration (ourselves
// included once persisted, unless we are removing ourselves), but only by counting replicas
// of an entry of our own term (paper 5.4.2, figure 8). The configuration is the latest one
// in the log, committed or not (dissertation 4.1).
// Committing a membership change drops the Progresses of members it removed, and a leader
// whose removal this commits steps down: callers must not use a Progress after this.
void RaftNode::maybe_commit() {
  Index majority_index =
      quorum_value(persisted_index_, [](const Progress& p) -> uint64_t { return p.match(); });
  if (majority_index <= commit_index_ || log_.term_at(majority_index) != term_) return;
  bool change_committed =
      log_.membership_index() > commit_index_ && log_.membership_index() <= majority_index;
  commit_index_ = majority_index;
  if (!committed_in_term_) {
    committed_in_term_ = true;
    reads_.unpark(commit_index_);
  }
  if (change_committed) {
    sync_progress(log_.last_index() + 1);  // members it removed need nothing more
    step_down_if_removed();
  }
}

// Releases the reads whose heartbeat round a majority has answered.
void RaftNode::confirm_reads() {
  // We agree with ourselves (counted only while we are a voter).
  uint64_t answered = quorum_value(
      reads_.last_round(), [](const Progress& p) -> uint64_t { return p.read_seq_acked(); });
  reads_.confirm(answered, &ready_.read_states);
}

}  // namespace kv::raft
