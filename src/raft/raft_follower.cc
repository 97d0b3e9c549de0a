// RaftNode, follower side: accepting entries, heartbeats and snapshots from the leader and
// acknowledging only what is durable.

#include <algorithm>
#include <memory>

#include "common/check.h"
#include "raft/raft_node.h"

namespace kv::raft {

void RaftNode::follow(NodeId leader) {
  if (role_ != Role::kFollower) {
    become_follower(term_, leader);  // a (pre)candidate that lost to this leader
  }
  leader_ = leader;
  election_elapsed_ = 0;
}

void RaftNode::handle_append(const Message& message, const AppendRequest& request) {
  for (const Entry& entry : request.entries) {
    // The codec refuses these; a config entry we could not read must not reach the log.
    Membership ignored;
    if (entry.type == EntryType::kConfig && !decode_membership(entry.payload, &ignored).ok()) {
      return;
    }
  }
  follow(message.from);
  if (!append_entries(request)) {
    reject_append(message, request.prev_index);
    return;
  }
  // Answer every append (the leader learns we are alive and where we are); entries that are
  // not durable yet are acknowledged again from persisted().
  send_ack(/*always=*/true);
}

// The receiver rules of AppendEntries (paper figure 2). Returns false if our log does not
// contain the leader's entry at prev_index.
bool RaftNode::append_entries(const AppendRequest& request) {
  // Entries we hold as committed are equal to the leader's (and may be compacted away):
  // skip them, and trust the leader's log up to there.
  size_t first_new = 0;
  while (first_new < request.entries.size() && request.entries[first_new].index <= commit_index_) {
    ++first_new;
  }
  Index prev_index = request.prev_index;
  Term prev_term = request.prev_term;
  if (first_new > 0) {
    prev_index = request.entries[first_new - 1].index;
    prev_term = request.entries[first_new - 1].term;
  }
  if (prev_index > commit_index_ && !log_.matches(prev_index, prev_term)) return false;

  for (size_t k = first_new; k < request.entries.size(); ++k) {
    const Entry& entry = request.entries[k];
    if (entry.index <= log_.last_index()) {
      if (log_.term_at(entry.index) == entry.term) continue;  // already have it
      truncate_log(entry.index);  // a conflict: ours came from a deposed leader
    }
    append_to_log(entry);
  }
  // Entries after the request's may be stale leftovers of another leader: the leader's log
  // is known to equal ours only through the request's last entry.
  Index last_new = request.prev_index + request.entries.size();
  leader_matched_ = std::max(leader_matched_, last_new);
  advance_commit(std::min(request.commit, last_new));
  return true;
}

void RaftNode::reject_append(const Message& message, Index prev_index) {
  AppendResponse response;
  response.reject_index = prev_index;
  if (prev_index > log_.last_index()) {
    response.hint_index = log_.last_index() + 1;  // our log is too short
  } else {
    // Our entry at prev_index has the wrong term: so may the run of that term before it.
    response.hint_term = *log_.term_at(prev_index);
    response.hint_index = log_.first_index_of_term_run(prev_index, commit_index_ + 1);
  }
  send(message.from, response);
}

// Entries known to equal the leader's and durable here: what we may acknowledge.
Index RaftNode::ackable_index() const {
  return std::min(std::max(leader_matched_, commit_index_), persisted_index_);
}

void RaftNode::send_ack(bool always) {
  if (role_ != Role::kFollower || leader_ == kNoNode) return;
  Index match = ackable_index();
  if (!always && match <= acked_index_) return;
  acked_index_ = std::max(acked_index_, match);
  AppendResponse response;
  response.success = true;
  response.match_index = match;
  response.accepted_index = std::max(leader_matched_, commit_index_);
  send(leader_, response);
}

void RaftNode::advance_commit(Index index) {
  if (index > commit_index_) commit_index_ = index;
}

void RaftNode::handle_heartbeat(const Message& message, const Heartbeat& heartbeat) {
  follow(message.from);
  // heartbeat.commit <= what we acknowledged to this leader, which stays in our log.
  advance_commit(std::min(heartbeat.commit, log_.last_index()));
  send(message.from, HeartbeatResponse{heartbeat.read_seq});
}

void RaftNode::handle_snapshot_chunk(const Message& message, const SnapshotChunk& chunk) {
  follow(message.from);
  const SnapshotMeta& meta = chunk.meta;
  if (meta.last_index <= commit_index_ || log_.matches(meta.last_index, meta.last_term)) {
    // We hold everything it covers (it is committed, so equal to ours): nothing to install.
    leader_matched_ = std::max(leader_matched_, meta.last_index);
    advance_commit(std::min(meta.last_index, log_.last_index()));
    send_ack(/*always=*/true);
    return;
  }
  if (chunk.offset == 0) {
    incoming_snapshot_ = meta;
    incoming_data_.clear();
  }
  if (meta != incoming_snapshot_ || chunk.offset != incoming_data_.size()) {
    // Out of order, or from a transfer we dropped: say where we are (0: start over).
    uint64_t expected = meta == incoming_snapshot_ ? incoming_data_.size() : 0;
    send(message.from, SnapshotResponse{meta.last_index, expected});
    return;
  }
  incoming_data_ += chunk.data;
  if (!chunk.done) {
    send(message.from, SnapshotResponse{meta.last_index, incoming_data_.size()});
    return;
  }
  install_snapshot(meta);
  send_ack(/*always=*/true);  // Ready order: sent after the host installed it durably
}

// Replaces our log and state machine by the assembled snapshot. Our log does not hold the
// snapshot's last entry (else we would keep it), so nothing in it is worth keeping.
void RaftNode::install_snapshot(const SnapshotMeta& meta) {
  auto data = std::make_shared<const std::string>(std::move(incoming_data_));
  incoming_data_.clear();
  incoming_snapshot_ = SnapshotMeta{};
  log_.apply_snapshot(meta);  // the snapshot's configuration replaces ours
  KV_CHECK(log_.last_index() == meta.last_index);
  on_membership_changed();
  snapshot_data_ = data;
  ready_.install_snapshot = SnapshotInstall{meta, data};
  // The host installs it (durably) before anything after it in this Ready.
  ready_.truncate_from.reset();
  unsent_from_ = meta.last_index + 1;
  persisted_index_ = meta.last_index;
  commit_index_ = meta.last_index;
  apply_cursor_ = applied_index_ = meta.last_index;
  leader_matched_ = std::max(leader_matched_, meta.last_index);
}

}  // namespace kv::raft
