// RaftNode: membership changes one server at a time (dissertation ch. 4) and leadership
// transfer (dissertation 3.10).
//
// Why one server at a time is enough: any majority of the old voters and any majority of
// the new ones (differing by one server) share a member, so the two configurations can never
// elect two leaders or commit two different entries at the same index. That holds only if a
// leader starts a change after the previous one committed *and* after it committed an entry
// of its own term (an uncommitted change of a deposed leader could otherwise combine with a
// new one into two non-overlapping steps: Ongaro, raft-dev, 2015-07-10).

#include <algorithm>
#include <utility>

#include "common/check.h"
#include "raft/raft_node.h"

namespace kv::raft {

Submission RaftNode::propose_config(ConfigChange change) {
  auto refuse = [&](Refusal why) {
    return Submission{false, 0, 0, role_ == Role::kLeader ? id_ : leader_, why};
  };
  if (role_ != Role::kLeader) return refuse(Refusal::kNotLeader);
  if (transfer_target_ != kNoNode) return refuse(Refusal::kTransferring);
  if (!committed_in_term_) return refuse(Refusal::kLeaderNotReady);
  if (membership_pending()) return refuse(Refusal::kChangePending);
  if (Refusal why = check_change(membership(), change); why != Refusal::kNone) return refuse(why);
  Membership next = apply_change(membership(), change);
  if (Refusal why = check_leader_change(change, next); why != Refusal::kNone) return refuse(why);

  std::string payload;
  encode_membership(next, &payload);
  Index index = log_.last_index() + 1;
  append_to_log({index, term_, EntryType::kConfig, std::move(payload)});  // in effect now
  return {true, index, term_, id_, Refusal::kNone};
}

// The leader's own conditions on a change the configuration allows.
Refusal RaftNode::check_leader_change(const ConfigChange& change, const Membership& next) const {
  if (change.kind == ConfigChange::Kind::kPromote) {
    // As a voter, a learner far behind would hold up commits until it caught up.
    auto it = progress_.find(change.id);
    Index match = it == progress_.end() ? 0 : it->second.match();
    if (log_.last_index() - std::min(match, log_.last_index()) > config_.max_promotion_lag) {
      return Refusal::kLearnerBehind;
    }
    // Entries may be large (a batch of writes): one that still needs the snapshot is behind
    // however short the log is.
    if (match < log_.snapshot().last_index) return Refusal::kLearnerBehind;
  }
  // The new configuration must be able to commit (this entry first of all) with the nodes
  // we hear from now; CheckQuorum's activity record says who those are.
  size_t reachable = 0;
  for (NodeId voter : next.voters) {
    if (voter == id_) {
      ++reachable;
    } else if (auto it = progress_.find(voter);
               it != progress_.end() && it->second.recently_active()) {
      ++reachable;
    }
  }
  if (next.voters.empty() || reachable < next.quorum()) return Refusal::kWouldLoseQuorum;
  return Refusal::kNone;
}

// Called whenever the configuration may have changed: a config entry appended, truncated
// away, or a snapshot installed. Only followers change configuration that way, except a
// leader appending its own config entries.
void RaftNode::on_membership_changed() {
  membership_dirty_ = true;  // reported in the next Ready
  if (role_ == Role::kLeader) {
    sync_progress(log_.last_index());
    if (transfer_target_ != kNoNode && !membership().is_voter(transfer_target_)) {
      transfer_target_ = kNoNode;
    }
  } else if (role_ != Role::kFollower && !is_voter()) {
    become_follower(term_, kNoNode);
  }
}

// Leader: one Progress per other member of the current configuration, and per member the
// pending change removes (it keeps receiving the log until the removal commits, so it
// normally learns it was removed and stays quiet; it counts for nothing). A new member is
// probed from `next`: from the entry that added it, which then goes out in the same Ready.
void RaftNode::sync_progress(Index next) {
  const Membership& latest = membership();
  const Membership& committed = log_.membership_at(commit_index_);
  for (auto it = progress_.begin(); it != progress_.end();) {
    bool keep = latest.contains(it->first) || committed.contains(it->first);
    it = keep ? std::next(it) : progress_.erase(it);
  }
  for (const Membership* members : {&latest, &committed}) {
    for (const std::vector<NodeId>* ids : {&members->voters, &members->learners}) {
      for (NodeId peer : *ids) {
        if (peer != id_) progress_.try_emplace(peer, Progress(next));
      }
    }
  }
}

bool RaftNode::transfer_leadership(NodeId to) {
  if (role_ != Role::kLeader || to == id_ || !membership().is_voter(to)) return false;
  if (transfer_target_ != kNoNode) return transfer_target_ == to;
  auto it = progress_.find(to);
  if (it == progress_.end()) return false;
  transfer_target_ = to;
  transfer_elapsed_ = 0;
  Progress& progress = it->second;
  if (progress.match() < log_.last_index()) {
    // Bring it up to date by normal replication, starting now rather than at the next
    // heartbeat (nothing new is proposed meanwhile); its acknowledgement of our last entry
    // triggers the TimeoutNow.
    progress.unstick(config_.max_inflight_appends);
    send_append(to, progress, /*allow_empty=*/true);
  }
  maybe_send_timeout_now(to, progress);
  return true;
}

// Sends TimeoutNow to the transfer target once its log holds all of ours durably, so it can
// win the election (and may again: a lost TimeoutNow would otherwise end the transfer).
void RaftNode::maybe_send_timeout_now(NodeId to, const Progress& progress) {
  if (to != transfer_target_ || progress.match() < log_.last_index()) return;
  send(to, TimeoutNow{});
}

void RaftNode::tick_transfer() {
  if (transfer_target_ == kNoNode) return;
  if (++transfer_elapsed_ >= config_.election_timeout_max) {
    // The target did not take over in an election timeout (down, partitioned, lost its
    // election): keep leading and accept proposals again.
    transfer_target_ = kNoNode;
    transfer_elapsed_ = 0;
  }
}

void RaftNode::handle_timeout_now() {
  // check_term() left the message's term == term_: it comes from the leader of our term.
  if (role_ == Role::kLeader || !is_voter()) return;
  become_candidate(/*transfer=*/true);
}

// A leader whose own removal committed leaves (dissertation 4.2.2). It tells the most
// up-to-date remaining voter to campaign now instead of letting the cluster wait out an
// election timeout, then follows nobody: it is no voter, so it never campaigns again.
void RaftNode::step_down_if_removed() {
  if (role_ != Role::kLeader || is_voter() || membership_pending()) return;
  NodeId successor = kNoNode;
  Index best = 0;
  for (const auto& [peer, progress] : progress_) {
    if (membership().is_voter(peer) && (successor == kNoNode || progress.match() > best)) {
      successor = peer;
      best = progress.match();
    }
  }
  if (successor != kNoNode) send(successor, TimeoutNow{});
  become_follower(term_, kNoNode);
}

}  // namespace kv::raft
