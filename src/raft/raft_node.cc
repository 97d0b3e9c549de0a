// RaftNode: construction, the host-facing inputs and assembling the Ready.

#include "raft/raft_node.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "common/check.h"

namespace kv::raft {

const char* role_name(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "?";
}

const char* refusal_text(Refusal refusal) {
  switch (refusal) {
    case Refusal::kNone:
      return "accepted";
    case Refusal::kNotLeader:
      return "not the leader";
    case Refusal::kTransferring:
      return "leadership is being transferred";
    case Refusal::kLeaderNotReady:
      return "the new leader has not committed an entry of its term yet";
    case Refusal::kChangePending:
      return "a membership change is pending";
    case Refusal::kInvalidNode:
      return "invalid node id";
    case Refusal::kAlreadyMember:
      return "the node is already a member in that role";
    case Refusal::kNotMember:
      return "the node is not a member in the role the change needs";
    case Refusal::kLearnerBehind:
      return "the learner has not caught up yet";
    case Refusal::kWouldLoseQuorum:
      return "the new configuration would not have a reachable majority";
  }
  return "?";
}

namespace {

// The snapshot's configuration, or the initial voters when it has none (brand-new cluster,
// or a snapshot from before membership changes existed).
SnapshotMeta with_membership(SnapshotMeta snapshot, std::vector<NodeId> voters) {
  if (snapshot.membership.empty()) {
    std::sort(voters.begin(), voters.end());
    voters.erase(std::unique(voters.begin(), voters.end()), voters.end());
    voters.erase(std::remove(voters.begin(), voters.end(), kNoNode), voters.end());
    snapshot.membership = Membership{std::move(voters), {}};
  }
  return snapshot;
}

}  // namespace

RaftNode::RaftNode(NodeId id, std::vector<NodeId> voters, Config config, uint64_t seed,
                   RecoveredState state)
    : id_(id),
      config_(config),
      rng_state_(seed ^ (id * 0x9E3779B97F4A7C15ULL)),
      term_(state.hard_state.term),
      voted_for_(state.hard_state.voted_for),
      log_(with_membership(std::move(state.snapshot), std::move(voters)), std::move(state.entries)),
      snapshot_data_(std::move(state.snapshot_data)) {
  KV_CHECK(id_ != kNoNode);
  KV_CHECK(config_.validate().empty());
  // Everything recovered is durable; the state machine restarts from the snapshot.
  persisted_index_ = log_.last_index();
  unsent_from_ = log_.last_index() + 1;
  commit_index_ =
      std::max(log_.snapshot().last_index, std::min(state.commit_index, log_.last_index()));
  apply_cursor_ = applied_index_ = log_.snapshot().last_index;
  leader_matched_ = commit_index_;
  reported_soft_ = {role_, leader_, term_};
  reported_membership_ = log_.membership();  // the host reads it with membership()
  randomized_timeout_ = random_election_timeout();
  // Nobody to ask: win at once.
  if (log_.membership().voters == std::vector<NodeId>{id_}) become_candidate();
}

void RaftNode::tick() {
  if (role_ == Role::kLeader) {
    tick_leader();
  } else {
    tick_election();
  }
}

void RaftNode::step(const Message& message) {
  // Messages from outside our configuration count too: a leader may know of members we do
  // not know of yet (we may be one), and a candidate's newer configuration may need our
  // vote (dissertation 4.1). Answers from non-members are ignored where they would count.
  if (message.from == id_ || message.from == kNoNode || message.to != id_) return;
  if (!check_term(message)) return;
  const MessageBody& body = message.body;
  if (auto* m = std::get_if<VoteRequest>(&body)) {
    handle_vote_request(message, *m);
  } else if (auto* m = std::get_if<VoteResponse>(&body)) {
    handle_vote_response(message, *m);
  } else if (auto* m = std::get_if<AppendRequest>(&body)) {
    handle_append(message, *m);
  } else if (auto* m = std::get_if<AppendResponse>(&body)) {
    handle_append_response(message, *m);
  } else if (auto* m = std::get_if<Heartbeat>(&body)) {
    handle_heartbeat(message, *m);
  } else if (auto* m = std::get_if<HeartbeatResponse>(&body)) {
    handle_heartbeat_response(message, *m);
  } else if (auto* m = std::get_if<SnapshotChunk>(&body)) {
    handle_snapshot_chunk(message, *m);
  } else if (auto* m = std::get_if<SnapshotResponse>(&body)) {
    handle_snapshot_response(message, *m);
  } else if (std::holds_alternative<TimeoutNow>(body)) {
    handle_timeout_now();
  }
}

Submission RaftNode::next_proposal() const {
  if (role_ != Role::kLeader) return {false, 0, 0, leader_, Refusal::kNotLeader};
  if (transfer_target_ != kNoNode) return {false, 0, 0, id_, Refusal::kTransferring};
  return {true, log_.last_index() + 1, term_, id_};
}

Submission RaftNode::propose(std::string payload, EntryType type) {
  KV_CHECK(type == EntryType::kCommand || type == EntryType::kBatch);
  Submission sub = next_proposal();
  // Sent in take_ready(), so proposals arriving together share one AppendEntries.
  if (sub.accepted) append_to_log({sub.index, sub.term, type, std::move(payload)});
  return sub;
}

Submission RaftNode::read_index(uint64_t request_id) {
  if (role_ != Role::kLeader) return {false, 0, 0, leader_, Refusal::kNotLeader};
  if (committed_in_term_) {
    reads_.add(request_id, commit_index_);
  } else {
    reads_.park(request_id);
  }
  return {true, 0, term_, id_};
}

void RaftNode::persisted(Index index, Term term) {
  // Only what was handed out can be durable; a different term means the report is about
  // entries we have since truncated.
  if (index <= persisted_index_ || index >= unsent_from_ || log_.term_at(index) != term) return;
  persisted_index_ = index;
  if (role_ == Role::kLeader) {
    maybe_commit();
  } else {
    send_ack(/*always=*/false);
  }
}

void RaftNode::applied(Index index) {
  applied_index_ = std::max(applied_index_, std::min(index, apply_cursor_));
}

void RaftNode::compact(Index index, SnapshotData data) {
  KV_CHECK(index <= applied_index_);
  KV_CHECK(data != nullptr);
  if (index <= log_.snapshot().last_index) return;
  log_.apply_snapshot({index, *log_.term_at(index), log_.membership_at(index)});
  snapshot_data_ = std::move(data);
}

Ready RaftNode::take_ready() {
  if (role_ == Role::kLeader) {
    if (reads_.needs_round()) {
      broadcast_heartbeat(reads_.start_round());
      confirm_reads();  // a one-member group confirms on its own
    }
    send_appends();
  }
  Ready ready = std::move(ready_);
  ready_ = Ready{};
  if (hard_state_dirty_) {
    ready.hard_state = HardState{term_, voted_for_};
    hard_state_dirty_ = false;
  }
  if (unsent_from_ <= log_.last_index()) {
    constexpr size_t kAll = std::numeric_limits<size_t>::max();
    ready.entries = log_.slice(unsent_from_, kAll, kAll);
    unsent_from_ = log_.last_index() + 1;
  }
  if (membership_dirty_ && log_.membership() != reported_membership_) {
    ready.membership = reported_membership_ = log_.membership();
  }
  membership_dirty_ = false;
  collect_committed(&ready);
  SoftState soft{role_, leader_, term_};
  if (soft != reported_soft_) ready.soft_state = reported_soft_ = soft;
  ready.commit_index = commit_index_;
  return ready;
}

std::vector<PeerStatus> RaftNode::peers() const {
  std::vector<PeerStatus> out;
  for (const auto& [peer, progress] : progress_) {
    out.push_back({peer, progress.match(), progress.next(), membership().is_learner(peer),
                   progress.recently_active()});
  }
  return out;
}

void RaftNode::send(NodeId to, MessageBody body, Term term) {
  ready_.messages.push_back(Message{id_, to, term, std::move(body)});
}

void RaftNode::append_to_log(Entry entry) {
  bool is_config = entry.type == EntryType::kConfig;
  log_.append(std::move(entry));
  if (is_config) on_membership_changed();  // in effect from the moment it is in the log
}

void RaftNode::truncate_log(Index index) {
  KV_CHECK(index > commit_index_);  // committed entries never change
  Index config_index = log_.membership_index();
  log_.truncate_from(index);
  if (config_index >= index) on_membership_changed();  // back to the previous one
  persisted_index_ = std::min(persisted_index_, index - 1);
  if (index < unsent_from_) {
    // The host already has entries from `index` on: tell it to drop them.
    ready_.truncate_from = std::min(ready_.truncate_from.value_or(index), index);
    unsent_from_ = index;
  }
}

int RaftNode::random_election_timeout() {
  // splitmix64
  uint64_t z = (rng_state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  auto span = static_cast<uint64_t>(config_.election_timeout_max - config_.election_timeout_min);
  return config_.election_timeout_min + static_cast<int>(z % span);
}

void RaftNode::collect_committed(Ready* ready) {
  // Apply only what is durable here too, so a restart never forgets an applied entry's
  // place in the log.
  Index up_to = std::min(commit_index_, persisted_index_);
  if (up_to > apply_cursor_) {
    ready->committed_entries.reserve(ready->committed_entries.size() + (up_to - apply_cursor_));
  }
  for (Index i = apply_cursor_ + 1; i <= up_to; ++i) {
    ready->committed_entries.push_back(log_.at(i));
  }
  apply_cursor_ = std::max(apply_cursor_, up_to);
}

}  // namespace kv::raft
