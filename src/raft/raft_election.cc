// RaftNode: time, terms, roles and elections (Raft paper 5.2, dissertation 9.6 PreVote,
// 6.2 CheckQuorum / leader stickiness).

#include <algorithm>

#include "common/check.h"
#include "raft/raft_node.h"

namespace kv::raft {

namespace {

bool is_from_leader(const MessageBody& body) {
  return std::holds_alternative<AppendRequest>(body) || std::holds_alternative<Heartbeat>(body) ||
         std::holds_alternative<SnapshotChunk>(body) || std::holds_alternative<TimeoutNow>(body);
}

}  // namespace

void RaftNode::tick_election() {
  ++election_elapsed_;
  if (election_elapsed_ < randomized_timeout_) return;
  if (!is_voter()) {
    // Learners, removed nodes and nodes waiting to be added never campaign: they could not
    // win, and a higher term from them would only disrupt the cluster.
    election_elapsed_ = randomized_timeout_;
    return;
  }
  if (config_.pre_vote) {
    become_pre_candidate();
  } else {
    become_candidate();
  }
}

void RaftNode::tick_leader() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  tick_transfer();
  if (election_elapsed_ >= config_.election_timeout_min) {
    election_elapsed_ = 0;
    size_t active = is_voter() ? 1 : 0;  // ourselves, unless we are removing ourselves
    for (auto& [peer, progress] : progress_) {
      if (progress.recent_active() && membership().is_voter(peer)) ++active;
      progress.clear_recent_active();
    }
    // CheckQuorum: cut off from a majority, we may already have been replaced; stop
    // accepting writes and reads that could not commit or would be stale.
    if (config_.check_quorum && active < quorum()) {
      become_follower(term_, kNoNode);
      return;
    }
  }
  if (heartbeat_elapsed_ >= config_.heartbeat_interval) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat(reads_.last_round());
  }
}

// Applies the term rules every message obeys. Returns false if the message is dropped.
bool RaftNode::check_term(const Message& message) {
  const MessageBody& body = message.body;
  if (message.term > term_) {
    if (auto* request = std::get_if<VoteRequest>(&body)) {
      // Leader stickiness: while we hear from a leader, nobody needs a new one — unless that
      // leader asked for this election (leadership transfer).
      if (in_leader_lease() && !request->transfer) return false;
      if (request->pre_vote) return true;  // asking changes nothing
    }
    if (auto* response = std::get_if<VoteResponse>(&body)) {
      // A granted PreVote carries the term we *would* have; we don't have it yet.
      if (response->pre_vote && response->granted) return true;
    }
    become_follower(message.term, is_from_leader(body) ? message.from : kNoNode);
    return true;
  }
  if (message.term < term_) {
    // Tell a stale leader or candidate about our term so it steps down; ignore the rest.
    if (std::holds_alternative<AppendRequest>(body) ||
        std::holds_alternative<SnapshotChunk>(body)) {
      send(message.from, AppendResponse{});
    } else if (std::holds_alternative<Heartbeat>(body)) {
      send(message.from, HeartbeatResponse{});
    } else if (auto* request = std::get_if<VoteRequest>(&body)) {
      send(message.from, VoteResponse{request->pre_vote, false});
    }
    return false;
  }
  return true;
}

bool RaftNode::in_leader_lease() const {
  return config_.check_quorum && leader_ != kNoNode &&
         election_elapsed_ < config_.election_timeout_min;
}

void RaftNode::become_follower(Term term, NodeId leader) {
  if (term > term_) {
    term_ = term;
    voted_for_ = kNoNode;
    hard_state_dirty_ = true;
    leader_matched_ = commit_index_;  // a new term, a new leader to match
    acked_index_ = 0;
  }
  reset_role_state();
  role_ = Role::kFollower;
  leader_ = leader;
}

void RaftNode::become_pre_candidate() {
  KV_CHECK(is_voter());
  reset_role_state();
  role_ = Role::kPreCandidate;
  leader_ = kNoNode;
  request_votes(/*pre_vote=*/true, /*transfer=*/false);
  count_vote(id_, true);
}

// transfer: the leader asked for this election (TimeoutNow), so PreVote is skipped and
// voters are told to disregard their leader lease.
void RaftNode::become_candidate(bool transfer) {
  KV_CHECK(is_voter());
  reset_role_state();
  ++term_;
  voted_for_ = id_;
  hard_state_dirty_ = true;
  leader_matched_ = commit_index_;
  acked_index_ = 0;
  role_ = Role::kCandidate;
  leader_ = kNoNode;
  request_votes(/*pre_vote=*/false, transfer);
  count_vote(id_, true);
}

void RaftNode::become_leader() {
  reset_role_state();
  role_ = Role::kLeader;
  leader_ = id_;
  sync_progress(log_.last_index() + 1);
  // Entries of earlier terms commit only under one of ours (paper 5.4.2), and reads need
  // our commit index to be current: start the term with a no-op.
  append_to_log({log_.last_index() + 1, term_, EntryType::kNoOp, ""});
}

// Clears everything that belongs to one role stint.
void RaftNode::reset_role_state() {
  if (role_ == Role::kLeader) reads_.drop_all(&ready_.dropped_reads);
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  randomized_timeout_ = random_election_timeout();
  votes_.clear();
  progress_.clear();
  committed_in_term_ = false;
  transfer_target_ = kNoNode;
  transfer_elapsed_ = 0;
}

void RaftNode::request_votes(bool pre_vote, bool transfer) {
  // A PreVote asks about the term we would move to, without moving there.
  Term term = pre_vote ? term_ + 1 : term_;
  for (NodeId peer : voters()) {
    if (peer == id_) continue;
    send(peer, VoteRequest{pre_vote, log_.last_index(), log_.last_term(), transfer}, term);
  }
}

void RaftNode::count_vote(NodeId from, bool granted) {
  votes_[from] = granted;
  // Only the voters of our configuration count (a learner may answer a stale request).
  size_t yes = 0;
  size_t no = 0;
  for (const auto& [voter, vote] : votes_) {
    if (membership().is_voter(voter)) ++(vote ? yes : no);
  }
  if (yes >= quorum()) {
    if (role_ == Role::kPreCandidate) {
      become_candidate();
    } else {
      become_leader();
    }
  } else if (no >= quorum()) {
    become_follower(term_, kNoNode);
  }
}

bool RaftNode::may_grant_vote(const Message& message, const VoteRequest& request) const {
  if (!log_.is_up_to_date(request.last_log_index, request.last_log_term)) return false;
  // A PreVote is granted to any later term: we would vote for it if it got there.
  if (request.pre_vote) return message.term > term_;
  // One vote per term (check_term already moved us to message.term).
  return voted_for_ == message.from || (voted_for_ == kNoNode && leader_ == kNoNode);
}

void RaftNode::handle_vote_request(const Message& message, const VoteRequest& request) {
  bool granted = may_grant_vote(message, request);
  if (granted && !request.pre_vote) {
    // Persisted (Ready::hard_state) before the response below leaves.
    voted_for_ = message.from;
    hard_state_dirty_ = true;
    election_elapsed_ = 0;
  }
  Term reply_term = request.pre_vote && granted ? message.term : term_;
  send(message.from, VoteResponse{request.pre_vote, granted}, reply_term);
}

void RaftNode::handle_vote_response(const Message& message, const VoteResponse& response) {
  if (response.pre_vote) {
    if (role_ != Role::kPreCandidate) return;
    // Granted answers carry the term we asked about; rejections the voter's (== ours here).
    Term expected = response.granted ? term_ + 1 : term_;
    if (message.term != expected) return;
  } else if (role_ != Role::kCandidate) {
    return;
  }
  count_vote(message.from, response.granted);
}

}  // namespace kv::raft
