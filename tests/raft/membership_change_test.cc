// Membership changes one server at a time: learners, promotion, removal (of the leader too),
// configuration in effect on append and reverted on truncation, the leader's refusals,
// recovery, snapshots, and nodes outside the configuration staying quiet.

#include <doctest/doctest.h>

#include "raft/test_cluster.h"

namespace kv::raft::testing {
namespace {

using Kind = ConfigChange::Kind;

// Heartbeats until every reachable node has what the leader has.
void settle(TestCluster& cluster, NodeId leader) {
  for (int i = 0; i < 3; ++i) {
    cluster.tick(leader, 2);
    cluster.stabilize();
  }
}

bool sent_vote_request(const TestCluster& cluster, NodeId from) {
  for (const Message& m : cluster.delivered) {
    if (m.from == from && std::holds_alternative<VoteRequest>(m.body)) return true;
  }
  return false;
}

Entry config_entry(Index index, Term term, const Membership& membership) {
  std::string payload;
  encode_membership(membership, &payload);
  return {index, term, EntryType::kConfig, payload};
}

TEST_CASE("a learner receives the log but counts for nothing and never campaigns") {
  TestCluster cluster = led_by_1(3);
  cluster.add_node(4);  // a brand-new node: no configuration, waits to be added
  CHECK(cluster.node(4).membership().empty());
  cluster.node(1).propose("before");
  Submission add = cluster.node(1).propose_config({Kind::kAddLearner, 4});
  REQUIRE(add.accepted);
  CHECK(add.refusal == Refusal::kNone);
  CHECK(cluster.node(1).membership() == Membership{{1, 2, 3}, {4}});  // in effect at once
  CHECK(cluster.node(1).membership_pending());
  settle(cluster, 1);
  CHECK_FALSE(cluster.node(1).membership_pending());
  for (NodeId id : {1, 2, 3, 4}) CHECK(cluster.node(id).learners() == std::vector<NodeId>{4});
  CHECK(cluster.node(4).log().last_index() == cluster.node(1).log().last_index());
  CHECK(cluster.applied[4].size() == cluster.applied[1].size());  // from the very first entry
  std::vector<PeerStatus> peers = cluster.node(1).peers();
  REQUIRE(peers.size() == 3);
  CHECK(peers[2].id == 4);
  CHECK(peers[2].learner);
  CHECK_FALSE(peers[0].learner);

  // Leader and learner are not a majority of {1, 2, 3}.
  cluster.isolate(2);
  cluster.isolate(3);
  Index index = cluster.node(1).propose("x").index;
  cluster.stabilize();
  CHECK(cluster.node(4).log().last_index() == index);
  CHECK(cluster.node(1).commit_index() < index);
  cluster.heal();
  settle(cluster, 1);
  CHECK(cluster.node(1).commit_index() == index);

  // Cut off from its leader, a learner waits forever without asking for votes.
  cluster.isolate(4);
  for (int i = 0; i < 200; ++i) {
    cluster.tick(4);
    cluster.stabilize();
  }
  CHECK(cluster.node(4).role() == Role::kFollower);
  CHECK(cluster.node(4).term() == 1);
  CHECK_FALSE(sent_vote_request(cluster, 4));
}

TEST_CASE("CheckQuorum counts voters only: a leader hearing just learners steps down") {
  TestCluster cluster = led_by_1(3);
  cluster.add_node(4);
  REQUIRE(cluster.node(1).propose_config({Kind::kAddLearner, 4}).accepted);
  settle(cluster, 1);
  cluster.isolate(2);
  cluster.isolate(3);
  for (int i = 0; i < 25; ++i) {
    cluster.tick(1);
    cluster.stabilize();
  }
  CHECK(cluster.node(1).role() != Role::kLeader);
}

TEST_CASE("a learner is promoted once caught up, and then counts toward commit") {
  Config config = test_config();
  config.max_promotion_lag = 5;
  TestCluster cluster = led_by_1(3, config);
  cluster.add_node(4);
  REQUIRE(cluster.node(1).propose_config({Kind::kAddLearner, 4}).accepted);
  settle(cluster, 1);
  cluster.isolate(4);
  for (int i = 0; i < 10; ++i) cluster.node(1).propose("v" + std::to_string(i));
  cluster.stabilize();
  Submission early = cluster.node(1).propose_config({Kind::kPromote, 4});
  CHECK_FALSE(early.accepted);
  CHECK(early.refusal == Refusal::kLearnerBehind);

  cluster.heal();
  settle(cluster, 1);
  Submission promote = cluster.node(1).propose_config({Kind::kPromote, 4});
  REQUIRE(promote.accepted);
  settle(cluster, 1);
  for (NodeId id : {1, 2, 3, 4}) {
    CHECK(cluster.node(id).membership() == Membership{{1, 2, 3, 4}, {}});
  }
  // Four voters: the leader and one follower are no longer a majority.
  cluster.isolate(3);
  cluster.isolate(4);
  Index index = cluster.node(1).propose("y").index;
  cluster.stabilize();
  CHECK(cluster.node(1).commit_index() < index);
  cluster.heal();
  settle(cluster, 1);
  CHECK(cluster.node(1).commit_index() == index);
}

TEST_CASE("a configuration takes effect when appended, before it commits") {
  TestCluster cluster = led_by_1(3);
  for (NodeId id : {1, 2, 3}) cluster.auto_persist[id] = false;
  cluster.memberships.clear();
  REQUIRE(cluster.node(1).propose_config({Kind::kAddLearner, 4}).accepted);
  Ready leader_ready = cluster.drain(1);
  REQUIRE(leader_ready.membership);
  CHECK(*leader_ready.membership == Membership{{1, 2, 3}, {4}});
  // Node 4 is in the leader's configuration, so the entry goes to it too (nobody runs it).
  std::vector<Message> appends = cluster.take<AppendRequest>(1);
  REQUIRE(appends.size() == 3);
  cluster.node(2).step(appends[0]);
  Ready ready = cluster.drain(2);
  REQUIRE(ready.membership);
  CHECK(*ready.membership == Membership{{1, 2, 3}, {4}});
  CHECK(cluster.node(2).membership_pending());  // not durable anywhere but appended
  CHECK(cluster.node(2).commit_index() < cluster.node(2).log().last_index());
  CHECK(cluster.memberships[3].empty());
}

TEST_CASE("a configuration whose entry is truncated away is reverted") {
  // Node 3 led term 2 and appended a config entry (adding learner 4) nobody else got.
  std::map<NodeId, RecoveredState> recovered;
  for (NodeId id : {1, 2, 3}) {
    recovered[id].hard_state = {2, kNoNode};
    recovered[id].entries = entries_of_term(1, 2, 1);
    recovered[id].commit_index = 2;
  }
  recovered[3].entries.push_back(config_entry(3, 2, {{1, 2, 3}, {4}}));
  TestCluster cluster(3, test_config(), recovered);
  CHECK(cluster.node(3).membership() == Membership{{1, 2, 3}, {4}});  // replayed at start
  CHECK(cluster.node(3).membership_pending());
  CHECK(cluster.node(1).membership() == Membership{{1, 2, 3}, {}});

  cluster.elect(1);  // node 2 votes for it; node 3's longer log refuses
  REQUIRE(cluster.node(1).role() == Role::kLeader);
  settle(cluster, 1);
  CHECK(cluster.node(3).log().at(3).type == EntryType::kNoOp);
  CHECK(cluster.node(3).membership() == Membership{{1, 2, 3}, {}});
  REQUIRE_FALSE(cluster.memberships[3].empty());
  CHECK(cluster.memberships[3].back() == Membership{{1, 2, 3}, {}});
}

TEST_CASE("the leader refuses membership changes it cannot make safely, saying why") {
  TestCluster cluster(3);
  cluster.auto_persist[2] = false;
  cluster.auto_persist[3] = false;
  cluster.elect(1);
  REQUIRE(cluster.node(1).role() == Role::kLeader);
  Submission s = cluster.node(1).propose_config({Kind::kAddLearner, 4});
  CHECK(s.refusal == Refusal::kLeaderNotReady);  // its no-op is not committed yet
  cluster.node(2).persisted(1, 1);
  cluster.stabilize();
  REQUIRE(cluster.node(1).commit_index() == 1);

  s = cluster.node(2).propose_config({Kind::kAddLearner, 4});
  CHECK_FALSE(s.accepted);
  CHECK(s.refusal == Refusal::kNotLeader);
  CHECK(s.leader == 1);
  CHECK(cluster.node(1).propose_config({Kind::kAddLearner, 0}).refusal == Refusal::kInvalidNode);
  CHECK(cluster.node(1).propose_config({Kind::kAddLearner, 2}).refusal == Refusal::kAlreadyMember);
  CHECK(cluster.node(1).propose_config({Kind::kPromote, 2}).refusal == Refusal::kAlreadyMember);
  CHECK(cluster.node(1).propose_config({Kind::kPromote, 9}).refusal == Refusal::kNotMember);
  CHECK(cluster.node(1).propose_config({Kind::kRemove, 9}).refusal == Refusal::kNotMember);

  // One change at a time.
  Submission first = cluster.node(1).propose_config({Kind::kAddLearner, 4});
  REQUIRE(first.accepted);
  s = cluster.node(1).propose_config({Kind::kAddLearner, 5});
  CHECK(s.refusal == Refusal::kChangePending);
  CHECK(std::string(refusal_text(s.refusal)) == "a membership change is pending");
  cluster.auto_persist[2] = true;
  cluster.node(2).persisted(cluster.node(2).log().last_index(), 1);
  settle(cluster, 1);
  REQUIRE(cluster.node(1).commit_index() >= first.index);
  CHECK(cluster.node(1).propose_config({Kind::kAddLearner, 5}).accepted);
}

TEST_CASE("a change that leaves no majority the leader hears from is refused") {
  TestCluster cluster = led_by_1(5);
  cluster.isolate(4);
  cluster.isolate(5);
  for (int i = 0; i < 25; ++i) {  // two CheckQuorum rounds: 4 and 5 count as gone
    cluster.tick(1);
    cluster.stabilize();
  }
  REQUIRE(cluster.node(1).role() == Role::kLeader);  // 1, 2 and 3 are a majority of 5
  for (const PeerStatus& peer : cluster.node(1).peers()) {
    CHECK(peer.recently_active == (peer.id == 2 || peer.id == 3));
  }
  // Without 2, the four voters left would have only 1 and 3 reachable.
  Submission s = cluster.node(1).propose_config({Kind::kRemove, 2});
  CHECK(s.refusal == Refusal::kWouldLoseQuorum);
  // Without the unreachable 4, 1, 2 and 3 are a majority of four.
  CHECK(cluster.node(1).propose_config({Kind::kRemove, 4}).accepted);
}

TEST_CASE("a removed follower learns of its removal and stays quiet") {
  TestCluster cluster = led_by_1(3);
  Submission s = cluster.node(1).propose_config({Kind::kRemove, 3});
  REQUIRE(s.accepted);
  settle(cluster, 1);
  REQUIRE(cluster.node(1).commit_index() >= s.index);
  CHECK(cluster.node(1).membership() == Membership{{1, 2}, {}});
  CHECK(cluster.node(3).membership() == Membership{{1, 2}, {}});  // it got the entry
  CHECK(cluster.node(1).peers().size() == 1);                     // and nothing more now
  // Two voters commit on their own; the removed node never campaigns.
  Index index = cluster.node(1).propose("after").index;
  settle(cluster, 1);
  CHECK(cluster.node(1).commit_index() == index);
  cluster.delivered.clear();
  for (int i = 0; i < 200; ++i) {
    cluster.tick(3);
    cluster.stabilize();
  }
  CHECK_FALSE(sent_vote_request(cluster, 3));
  CHECK(cluster.node(1).term() == 1);
}

TEST_CASE("a leader that removes itself leads uncounted until the removal commits") {
  TestCluster cluster = led_by_1(3);
  Submission s = cluster.node(1).propose_config({Kind::kRemove, 1});
  REQUIRE(s.accepted);
  CHECK(cluster.node(1).role() == Role::kLeader);
  CHECK(cluster.node(1).voters() == std::vector<NodeId>{2, 3});
  // Leader and node 2 hold it durably, but {2, 3} needs node 3 too.
  cluster.isolate(3);
  cluster.stabilize();
  CHECK(cluster.node(1).commit_index() < s.index);
  CHECK(cluster.node(1).role() == Role::kLeader);

  cluster.heal();
  cluster.delivered.clear();
  cluster.tick(1, 2);  // its heartbeat gets node 3 the entry; its ack commits it
  cluster.stabilize();
  // Committed: it stepped down and had the most up-to-date voter take over at once.
  CHECK(cluster.node(1).role() == Role::kFollower);
  CHECK(cluster.node(1).commit_index() >= s.index);
  bool timeout_now = false;
  for (const Message& m : cluster.delivered) {
    timeout_now = timeout_now || std::holds_alternative<TimeoutNow>(m.body);
  }
  CHECK(timeout_now);
  NodeId leader = cluster.node(2).role() == Role::kLeader ? 2 : 3;
  REQUIRE(cluster.node(leader).role() == Role::kLeader);
  CHECK(cluster.node(leader).term() == 2);

  // The old leader is out: it never campaigns again, and the new leader goes on without it.
  cluster.delivered.clear();
  for (int i = 0; i < 100; ++i) {
    cluster.tick_all();
    cluster.stabilize();
  }
  CHECK_FALSE(sent_vote_request(cluster, 1));
  CHECK(cluster.node(leader).role() == Role::kLeader);
  CHECK(cluster.node(leader).term() == 2);
  Index index = cluster.node(leader).propose("z").index;
  settle(cluster, leader);
  CHECK(cluster.node(leader).commit_index() == index);
}

TEST_CASE("recovery replays config entries; initial voters apply only when none is recorded") {
  RecoveredState state;
  state.hard_state = {2, kNoNode};
  state.snapshot = {4, 1, Membership{{1, 2, 3}, {4}}};
  state.snapshot_data = std::make_shared<const std::string>("img");
  state.entries = entries_of_term(5, 6, 1);
  state.entries.push_back(config_entry(7, 2, {{1, 2, 3, 4}, {}}));
  RaftNode node(2, {7, 8, 9}, test_config(), 1, state);  // voters ignored: there is a config
  CHECK(node.membership() == Membership{{1, 2, 3, 4}, {}});
  CHECK(node.membership_at(6) == Membership{{1, 2, 3}, {4}});
  CHECK(node.membership_pending());

  RecoveredState plain;
  plain.entries = entries_of_term(1, 3, 1);
  RaftNode fresh(2, {3, 1, 2}, test_config(), 1, plain);
  CHECK(fresh.membership() == Membership{{1, 2, 3}, {}});
  CHECK(fresh.log().snapshot().membership == Membership{{1, 2, 3}, {}});

  // A config only in the log: the initial voters are what it would revert to.
  RecoveredState logged;
  logged.entries = entries_of_term(1, 1, 1);
  logged.entries.push_back(config_entry(2, 1, {{1, 2, 3}, {4}}));
  RaftNode replayed(2, {1, 2, 3}, test_config(), 1, logged);
  CHECK(replayed.membership() == Membership{{1, 2, 3}, {4}});
  CHECK(replayed.membership_at(1) == Membership{{1, 2, 3}, {}});

  // A restarted learner does not campaign, even alone for a long time.
  RaftNode learner(4, {}, test_config(), 1, state);
  CHECK(learner.membership().is_voter(4));  // promoted in its log: it is a voter again
  RecoveredState as_learner = state;
  as_learner.entries.pop_back();
  RaftNode still_learner(4, {}, test_config(), 1, as_learner);
  for (int i = 0; i < 500; ++i) {
    still_learner.tick();
    CHECK(still_learner.take_ready().messages.empty());
  }
}

TEST_CASE("a node catching up from a snapshot learns the membership from it") {
  Config config = test_config();
  config.snapshot_chunk_bytes = 8;
  TestCluster cluster = led_by_1(3, config);
  cluster.add_node(4);
  cluster.isolate(4);
  REQUIRE(cluster.node(1).propose_config({Kind::kAddLearner, 4}).accepted);
  for (int i = 0; i < 4; ++i) cluster.node(1).propose("v" + std::to_string(i));
  settle(cluster, 1);
  Index applied = cluster.node(1).applied_index();
  REQUIRE(applied == cluster.node(1).log().last_index());
  cluster.node(1).compact(applied, std::make_shared<const std::string>("a snapshot image"));
  CHECK(cluster.node(1).log().snapshot().membership == Membership{{1, 2, 3}, {4}});

  cluster.heal();
  settle(cluster, 1);
  REQUIRE(cluster.installed[4].size() == 1);
  CHECK(cluster.installed[4][0].meta.membership == Membership{{1, 2, 3}, {4}});
  CHECK(cluster.node(4).membership() == Membership{{1, 2, 3}, {4}});
  REQUIRE_FALSE(cluster.memberships[4].empty());
  CHECK(cluster.memberships[4].back() == Membership{{1, 2, 3}, {4}});
  CHECK(cluster.node(4).log().last_index() == applied);
}

TEST_CASE("a learner that still needs the snapshot is not promoted, however short the log") {
  TestCluster cluster = led_by_1(3);  // max_promotion_lag far above this log's length
  cluster.add_node(4);
  cluster.isolate(4);
  REQUIRE(cluster.node(1).propose_config({Kind::kAddLearner, 4}).accepted);
  cluster.node(1).propose("a batch of many writes");
  settle(cluster, 1);
  const Index applied = cluster.node(1).applied_index();
  REQUIRE(cluster.node(1).log().last_index() - applied <= test_config().max_promotion_lag);
  cluster.node(1).compact(applied, std::make_shared<const std::string>("image"));
  Submission early = cluster.node(1).propose_config({Kind::kPromote, 4});
  CHECK_FALSE(early.accepted);
  CHECK(early.refusal == Refusal::kLearnerBehind);

  cluster.heal();
  settle(cluster, 1);
  REQUIRE(cluster.installed[4].size() == 1);
  CHECK(cluster.node(1).propose_config({Kind::kPromote, 4}).accepted);
}

TEST_CASE("a node outside any configuration neither campaigns nor sends anything") {
  RaftNode waiting(4, {}, test_config(), 1, {});
  for (int i = 0; i < 1000; ++i) {
    waiting.tick();
    CHECK(waiting.take_ready().messages.empty());
  }
  CHECK(waiting.role() == Role::kFollower);
  CHECK(waiting.term() == 0);
}

TEST_CASE("votes: answered across configurations, counted only from the candidate's voters") {
  // Node 3 still sees node 4 as a learner; node 4, promoted in its own log, needs its vote
  // (dissertation 4.1: refusing could leave the cluster without a leader).
  RecoveredState state;
  state.hard_state = {1, kNoNode};
  state.entries = {config_entry(1, 1, {{1, 2, 3}, {4}})};
  RaftNode voter(3, {1, 2, 3}, test_config(), 1, state);
  voter.step({4, 3, 2, VoteRequest{false, 2, 1}});
  Ready ready = voter.take_ready();
  REQUIRE(ready.messages.size() == 1);
  CHECK(std::get<VoteResponse>(ready.messages[0].body).granted);

  // Candidate 1 sees 4 as a learner: 4's vote does not make a majority of {1, 2, 3}.
  Config config = test_config();
  config.pre_vote = false;
  RaftNode candidate(1, {1, 2, 3}, config, 1, state);
  for (int i = 0; i < 20; ++i) candidate.tick();
  REQUIRE(candidate.role() == Role::kCandidate);
  ready = candidate.take_ready();
  CHECK(ready.messages.size() == 2);  // voters only
  candidate.step({4, 1, candidate.term(), VoteResponse{false, true}});
  CHECK(candidate.role() == Role::kCandidate);
  candidate.step({2, 1, candidate.term(), VoteResponse{false, true}});
  CHECK(candidate.role() == Role::kLeader);
}

TEST_CASE("a new leader changes membership only after committing an entry of its term") {
  // Ongaro's raft-dev scenario (2015-07-10). Voters {1, 2, 3, 4} and learner 5 are
  // committed; leader 1 of term 1 appended the promotion of 5 on 1 and 5 only, then died.
  // If leader 2 of term 2 could remove 1 at once, committing it on {2, 3} (a majority of
  // {2, 3, 4}), node 1 could come back and win term 3 with 4's and 5's votes in {1..5}
  // (its log ends later than 4's), and overwrite that committed change.
  const Membership c0{{1, 2, 3, 4}, {5}};
  const Membership c1{{1, 2, 3, 4, 5}, {}};
  std::map<NodeId, RecoveredState> recovered;
  for (NodeId id : {1, 2, 3, 4, 5}) {
    recovered[id].hard_state = {1, kNoNode};
    recovered[id].entries = {config_entry(1, 1, c0)};
    recovered[id].commit_index = 1;
  }
  for (NodeId id : {1, 5}) recovered[id].entries.push_back(config_entry(2, 1, c1));
  TestCluster cluster(4, test_config(), recovered);
  cluster.add_node(5, {}, recovered[5]);
  CHECK(cluster.node(5).membership() == c1);
  cluster.isolate(1);
  for (NodeId id : {3, 4, 5}) cluster.auto_persist[id] = false;
  cluster.elect(2);
  REQUIRE(cluster.node(2).role() == Role::kLeader);
  REQUIRE(cluster.node(2).term() == 2);
  // Its no-op is not durable on a majority yet: no change, whoever it could reach.
  CHECK(cluster.node(2).propose_config({Kind::kRemove, 1}).refusal == Refusal::kLeaderNotReady);
  cluster.node(3).persisted(2, 2);
  cluster.stabilize();
  CHECK(cluster.node(2).commit_index() == 1);  // {2, 3} is no majority of {1, 2, 3, 4}
  CHECK(cluster.node(2).propose_config({Kind::kRemove, 1}).refusal == Refusal::kLeaderNotReady);

  // Once 4 holds the term-2 no-op, node 1 can never collect 4's vote with its old log.
  cluster.node(4).persisted(2, 2);
  for (NodeId id : {3, 4, 5}) cluster.auto_persist[id] = true;
  settle(cluster, 2);
  REQUIRE(cluster.node(2).commit_index() == 2);
  CHECK(cluster.node(5).membership() == c0);  // the promotion was truncated away
  Submission remove = cluster.node(2).propose_config({Kind::kRemove, 1});
  REQUIRE(remove.accepted);
  settle(cluster, 2);
  REQUIRE(cluster.node(2).commit_index() >= remove.index);

  cluster.heal();
  cluster.delivered.clear();
  for (int i = 0; i < 60; ++i) {  // node 1, back, times out over and over
    cluster.tick(1);
    cluster.stabilize();
  }
  CHECK(cluster.node(1).role() != Role::kLeader);
  CHECK(cluster.node(2).role() == Role::kLeader);
  for (NodeId id : {2, 3, 4, 5}) {
    CHECK(cluster.node(id).log().at(remove.index).term == 2);
    CHECK(cluster.node(id).membership() == Membership{{2, 3, 4}, {5}});
  }
}

}  // namespace
}  // namespace kv::raft::testing
