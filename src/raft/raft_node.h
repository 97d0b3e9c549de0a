// RaftNode: the deterministic Raft consensus core of one server. No sockets, threads,
// clocks or files: the host feeds it ticks, peer messages, client proposals and durability
// reports, and after each input drains a Ready (ready.h) of things to persist, send and
// apply. Same inputs, same seed => same outputs. Not thread-safe: one owner calls all.
// Implementation: raft_node.cc (inputs, Ready), raft_election.cc, raft_replication.cc
// (leader side), raft_follower.cc (follower side), raft_membership.cc (membership changes
// and leadership transfer).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "raft/config.h"
#include "raft/membership.h"
#include "raft/message.h"
#include "raft/progress.h"
#include "raft/raft_log.h"
#include "raft/read_queue.h"
#include "raft/ready.h"
#include "raft/types.h"

namespace kv::raft {

// What the host recovered from disk at start (all of it durable).
struct RecoveredState {
  HardState hard_state;
  // snapshot.membership: the configuration stored with the snapshot (empty if the snapshot
  // predates membership changes or there is none).
  SnapshotMeta snapshot;
  SnapshotData snapshot_data;  // the bytes of `snapshot`, sent to followers that need it
  // Consecutive, from snapshot.last_index + 1. Config entries among them take effect again
  // (the last one is the current configuration); their payloads must decode.
  std::vector<Entry> entries;
  // The last commit index the host stored, if any; clamped to the recovered log. Entries up
  // to it are handed out for applying again (the state machine restarts from the snapshot).
  Index commit_index = 0;
};

// Answer to propose(), propose_config() and read_index().
struct Submission {
  bool accepted = false;
  // propose(), propose_config(): where the entry went. It is committed iff an entry with
  // this index *and* term comes out in Ready::committed_entries; another term there means it
  // was lost.
  Index index = 0;
  Term term = 0;
  // Not accepted because not the leader: the leader this node knows of, or kNoNode.
  NodeId leader = kNoNode;
  Refusal refusal = Refusal::kNone;  // why not accepted
};

// "not the leader", "a membership change is pending", ... for error replies and logs.
const char* refusal_text(Refusal refusal);

// What a leader knows about one other member (INFO); also about a member being removed,
// until its removal commits (then it is in no list of membership()).
struct PeerStatus {
  NodeId id = kNoNode;
  Index match = 0;
  Index next = 0;
  bool learner = false;
  bool recently_active = false;  // heard from within the last one or two election timeouts
};

class RaftNode {
 public:
  // `voters` is the initial configuration, used only when neither the snapshot nor the log
  // in `state` holds one (a brand-new cluster); a brand-new node that is to join a running
  // cluster passes none and waits to be added. A node that is not a voter in its current
  // configuration never campaigns. A one-member group whose only voter is `id` elects itself
  // at once.
  // REQUIRES: id != kNoNode; config.validate() is empty; state is what the host made durable
  // (an empty RecoveredState for a brand-new node).
  RaftNode(NodeId id, std::vector<NodeId> voters, Config config, uint64_t seed,
           RecoveredState state);

  // ---- Inputs. After any of them, call take_ready(). ----

  // One unit of time passed.
  void tick();
  // A message from a peer — any node, in our configuration or not. Stale, duplicated and
  // reordered messages are fine.
  void step(const Message& message);
  // Leader only: appends a command entry (kCommand or kBatch: the payload is the host's).
  // Refused (kNotLeader) on other roles, and (kTransferring) while a leadership transfer is
  // under way.
  Submission propose(std::string payload, EntryType type = EntryType::kCommand);
  // What propose() would answer now, without appending: refused as above, or accepted with
  // the index and term the entry would get.
  Submission next_proposal() const;
  // Leader only: appends a config entry holding the configuration after `change`; it takes
  // effect on every node as soon as the node appends it. Refused (Submission::refusal)
  // when: not the leader (kNotLeader), transferring leadership (kTransferring), no entry of
  // this term committed yet (kLeaderNotReady), the last change is not committed
  // (kChangePending), the id does not fit the change (kInvalidNode, kAlreadyMember,
  // kNotMember), a learner to promote lags more than Config::max_promotion_lag entries or
  // still needs the snapshot (kLearnerBehind), or the voters of the new configuration that
  // the leader heard from in the last election timeout or two (itself included, unless
  // removed) would not be a majority of them (kWouldLoseQuorum). A leader may remove itself: it keeps leading, not
  // counting itself, until the entry commits, then steps down (and hands the election to the
  // most up-to-date voter with TimeoutNow).
  Submission propose_config(ConfigChange change);
  // Leader only: hands leadership to voter `to` (dissertation 3.10). Proposals are refused
  // while it runs; the leader brings `to` up to date and sends it TimeoutNow, and `to`
  // campaigns at once. Given up after election_timeout_max ticks if no election happened.
  // Returns false (nothing started) when not the leader, `to` is this node or not a voter,
  // or a transfer to another node is under way; true if it started or was already running.
  bool transfer_leadership(NodeId to);
  // Leader only: starts a linearizable read; its ReadState (or a drop) comes in a later
  // Ready. request_id is the host's, echoed back.
  Submission read_index(uint64_t request_id);
  // The host's log is durable through (index, term): everything up to it that came in
  // Ready::entries. Reports about a log position that has since been overwritten (term
  // differs) are ignored. Writes issued before a Ready::install_snapshot must not be
  // reported at all: they went to the log the snapshot replaced.
  void persisted(Index index, Term term);
  // The state machine applied everything up to index.
  void applied(Index index);
  // The host took a snapshot of the state machine at `index` (durable, with `data` its
  // bytes): the log prefix through index is no longer needed. The host drops its own copy.
  // REQUIRES: index <= applied_index().
  void compact(Index index, SnapshotData data);

  // ---- Output. ----
  Ready take_ready();

  // ---- Observers (INFO, tests). ----
  NodeId id() const { return id_; }
  Role role() const { return role_; }
  Term term() const { return term_; }
  NodeId leader() const { return leader_; }
  Index commit_index() const { return commit_index_; }
  Index applied_index() const { return applied_index_; }
  Index persisted_index() const { return persisted_index_; }
  const RaftLog& log() const { return log_; }
  // The current configuration: the last config entry in the log, else the snapshot's, else
  // the constructor's voters. It is pending while that entry is not committed.
  const Membership& membership() const { return log_.membership(); }
  const std::vector<NodeId>& voters() const { return log_.membership().voters; }
  const std::vector<NodeId>& learners() const { return log_.membership().learners; }
  bool membership_pending() const { return log_.membership_index() > commit_index_; }
  // The configuration at `index`, e.g. for the host to store with a snapshot taken there.
  // REQUIRES: index >= log().snapshot().last_index.
  const Membership& membership_at(Index index) const { return log_.membership_at(index); }
  // The voter a leadership transfer is handing over to, or kNoNode.
  NodeId transfer_target() const { return transfer_target_; }
  std::vector<PeerStatus> peers() const;  // leader only; empty otherwise

 private:
  // raft_election.cc
  void tick_election();
  void tick_leader();
  void become_follower(Term term, NodeId leader);
  void become_pre_candidate();
  void become_candidate(bool transfer = false);
  void become_leader();
  void reset_role_state();
  void request_votes(bool pre_vote, bool transfer);
  void count_vote(NodeId from, bool granted);
  bool in_leader_lease() const;
  bool may_grant_vote(const Message& message, const VoteRequest& request) const;
  void handle_vote_request(const Message& message, const VoteRequest& request);
  void handle_vote_response(const Message& message, const VoteResponse& response);
  bool check_term(const Message& message);

  // raft_replication.cc (leader)
  void send_appends();
  bool send_append(NodeId to, Progress& progress, bool allow_empty);
  void send_snapshot_chunk(NodeId to, Progress& progress);
  void broadcast_heartbeat(uint64_t read_seq);
  void handle_append_response(const Message& message, const AppendResponse& response);
  void handle_heartbeat_response(const Message& message, const HeartbeatResponse& response);
  void handle_snapshot_response(const Message& message, const SnapshotResponse& response);
  Index backtrack_target(const AppendResponse& response) const;
  void maybe_commit();
  void confirm_reads();
  uint64_t quorum_value(uint64_t own, uint64_t (*of)(const Progress&)) const;

  // raft_follower.cc
  void follow(NodeId leader);
  void handle_append(const Message& message, const AppendRequest& request);
  void handle_heartbeat(const Message& message, const Heartbeat& heartbeat);
  void handle_snapshot_chunk(const Message& message, const SnapshotChunk& chunk);
  void install_snapshot(const SnapshotMeta& meta);
  bool append_entries(const AppendRequest& request);
  void reject_append(const Message& message, Index prev_index);
  void send_ack(bool always);
  Index ackable_index() const;
  void advance_commit(Index index);

  // raft_membership.cc
  void on_membership_changed();
  void sync_progress(Index next);
  Refusal check_leader_change(const ConfigChange& change, const Membership& next) const;
  bool is_voter() const { return log_.membership().is_voter(id_); }
  void maybe_send_timeout_now(NodeId to, const Progress& progress);
  void handle_timeout_now();
  void tick_transfer();
  void step_down_if_removed();

  // raft_node.cc
  void send(NodeId to, MessageBody body) { send(to, std::move(body), term_); }
  void send(NodeId to, MessageBody body, Term term);
  void append_to_log(Entry entry);
  void truncate_log(Index index);
  size_t quorum() const { return log_.membership().quorum(); }
  int random_election_timeout();
  void collect_committed(Ready* ready);

  // ---- Identity ----
  const NodeId id_;
  const Config config_;
  uint64_t rng_state_;  // splitmix64: deterministic per (seed, id)

  // ---- Persistent state (the host stores it; see Ready::hard_state) ----
  // term_ only grows; voted_for_ is the vote cast in term_. Both reach Ready::hard_state
  // before any message carrying them, and the host makes them durable before sending.
  Term term_;
  NodeId voted_for_;
  // Also holds the current configuration (log_.membership()), which follows the log.
  RaftLog log_;
  SnapshotData snapshot_data_;  // the bytes of log_.snapshot(), for lagging followers

  // ---- Volatile state ----
  Role role_ = Role::kFollower;
  NodeId leader_ = kNoNode;  // the leader of term_, once known
  // Only grows; <= log_.last_index(). Entries up to it are in every future leader's log.
  Index commit_index_;
  // The host's log is durable through here, and equal to log_ there. Leaders count
  // themselves toward commit only up to it; followers acknowledge only up to it.
  Index persisted_index_;
  // Last entry handed out in Ready::committed_entries; <= min(commit, persisted).
  Index apply_cursor_;
  Index applied_index_;       // what the host reported applied
  int election_elapsed_ = 0;  // ticks since the leader was last heard (leader: since CheckQuorum)
  int randomized_timeout_ = 0;
  int heartbeat_elapsed_ = 0;

  // Follower: the current leader's log equals ours through leader_matched_ (reset per
  // term), and the highest match_index we told it.
  Index leader_matched_ = 0;
  Index acked_index_ = 0;
  // Follower: the snapshot being received; its chunks so far are incoming_data_.
  SnapshotMeta incoming_snapshot_;
  std::string incoming_data_;

  // (Pre)candidate: answers received in this election, including our own.
  std::map<NodeId, bool> votes_;

  // Leader: one Progress per other member (voters, learners, and members the pending change
  // removes, until it commits: sync_progress); pending reads; whether an entry of term_ is
  // committed (until then the commit index may be stale, reads must wait and membership must
  // not change: the fix in Ongaro's raft-dev post of 2015-07).
  std::map<NodeId, Progress> progress_;
  ReadQueue reads_;
  bool committed_in_term_ = false;
  // Leader: the voter leadership is being handed to (kNoNode: none), and ticks since.
  NodeId transfer_target_ = kNoNode;
  int transfer_elapsed_ = 0;

  // ---- The Ready being assembled ----
  Ready ready_;
  bool hard_state_dirty_ = false;
  // Entries from here on were not handed to the host yet (Ready::entries).
  Index unsent_from_;
  SoftState reported_soft_;
  Membership reported_membership_;
  bool membership_dirty_ = false;  // may differ from reported_membership_
};

}  // namespace kv::raft
