// Elections: PreVote, votes and their persistence, CheckQuorum and leader stickiness.

#include <doctest/doctest.h>

#include "raft/test_cluster.h"

namespace kv::raft::testing {
namespace {

template <typename T>
const T& body(const Message& message) {
  return std::get<T>(message.body);
}

TEST_CASE("a one-member group elects itself at once and commits on its own durable append") {
  RaftNode node(7, {7}, test_config(), 1, {});
  CHECK(node.role() == Role::kLeader);
  CHECK(node.term() == 1);
  Ready ready = node.take_ready();
  REQUIRE(ready.hard_state);
  CHECK(ready.hard_state->voted_for == 7);
  REQUIRE(ready.entries.size() == 1);  // the no-op
  CHECK(ready.entries[0].type == EntryType::kNoOp);
  CHECK(ready.committed_entries.empty());  // not durable yet

  Submission put = node.propose("set a 1");
  REQUIRE(put.accepted);
  CHECK(put.index == 2);
  ready = node.take_ready();
  CHECK(ready.committed_entries.empty());
  node.persisted(2, 1);
  ready = node.take_ready();
  REQUIRE(ready.committed_entries.size() == 2);
  CHECK(ready.committed_entries[1].payload == "set a 1");
  CHECK(ready.commit_index == 2);
}

TEST_CASE("a follower that times out asks with PreVote first, then wins a real election") {
  TestCluster cluster(3);
  cluster.tick(1, 20);
  CHECK(cluster.node(1).role() == Role::kPreCandidate);
  CHECK(cluster.node(1).term() == 0);  // PreVote bumps no term
  Ready ready = cluster.drain(1);
  CHECK_FALSE(ready.hard_state);
  REQUIRE(ready.messages.size() == 2);
  CHECK(body<VoteRequest>(ready.messages[0]).pre_vote);
  CHECK(ready.messages[0].term == 1);

  cluster.stabilize();
  CHECK(cluster.node(1).role() == Role::kLeader);
  CHECK(cluster.node(1).term() == 1);
  CHECK(cluster.node(2).leader() == 1);
  CHECK(cluster.node(3).leader() == 1);
  // The no-op of the new term committed and was applied everywhere.
  cluster.tick(1, 2);  // a heartbeat carries the commit index to followers
  cluster.stabilize();
  for (NodeId id : {1, 2, 3}) {
    REQUIRE(cluster.applied[id].size() == 1);
    CHECK(cluster.applied[id][0].type == EntryType::kNoOp);
  }
}

TEST_CASE("a vote leaves only in a Ready whose hard state records it") {
  RaftNode voter(2, {1, 2, 3}, test_config(), 1, {});
  voter.step({1, 2, 5, VoteRequest{false, 0, 0}});
  Ready ready = voter.take_ready();
  REQUIRE(ready.hard_state);
  CHECK(ready.hard_state->term == 5);
  CHECK(ready.hard_state->voted_for == 1);
  REQUIRE(ready.messages.size() == 1);
  CHECK(body<VoteResponse>(ready.messages[0]).granted);

  // Same term, another candidate: one vote per term.
  voter.step({3, 2, 5, VoteRequest{false, 0, 0}});
  ready = voter.take_ready();
  REQUIRE(ready.messages.size() == 1);
  CHECK_FALSE(body<VoteResponse>(ready.messages[0]).granted);

  // After a restart from the persisted hard state the vote still stands.
  RecoveredState recovered;
  recovered.hard_state = {5, 1};
  RaftNode restarted(2, {1, 2, 3}, test_config(), 1, recovered);
  restarted.step({3, 2, 5, VoteRequest{false, 0, 0}});
  ready = restarted.take_ready();
  CHECK_FALSE(body<VoteResponse>(ready.messages[0]).granted);
}

TEST_CASE("a candidate with a less up-to-date log gets no vote") {
  RecoveredState state;
  state.hard_state = {2, kNoNode};
  state.entries = entries_of_term(1, 3, 2);
  RaftNode voter(2, {1, 2, 3}, test_config(), 1, state);
  voter.step({1, 2, 3, VoteRequest{false, 5, 1}});  // longer, but older last term
  Ready ready = voter.take_ready();
  CHECK_FALSE(body<VoteResponse>(ready.messages[0]).granted);
  CHECK(voter.term() == 3);  // the term still moves on
  voter.step({3, 2, 3, VoteRequest{false, 3, 2}});
  ready = voter.take_ready();
  CHECK(body<VoteResponse>(ready.messages[0]).granted);
}

TEST_CASE("PreVote: a partitioned node does not inflate its term or depose the leader") {
  TestCluster cluster(3);
  cluster.elect(1);
  REQUIRE(cluster.node(1).role() == Role::kLeader);
  cluster.isolate(3);
  for (int i = 0; i < 100; ++i) {
    cluster.tick_all();
    cluster.stabilize();
  }
  CHECK(cluster.node(3).term() == 1);  // PreVotes went nowhere; no term bump
  CHECK(cluster.node(1).role() == Role::kLeader);
  cluster.heal();
  for (int i = 0; i < 30; ++i) {
    cluster.tick_all();
    cluster.stabilize();
  }
  CHECK(cluster.node(1).role() == Role::kLeader);
  CHECK(cluster.node(1).term() == 1);
  CHECK(cluster.node(3).leader() == 1);
}

TEST_CASE("CheckQuorum: a leader cut off from its majority steps down") {
  TestCluster cluster(3);
  cluster.elect(1);
  cluster.isolate(1);
  for (int i = 0; i < 9; ++i) {
    cluster.tick(1);
    cluster.stabilize();
  }
  CHECK(cluster.node(1).role() == Role::kLeader);
  for (int i = 0; i < 11; ++i) {
    cluster.tick(1);
    cluster.stabilize();
  }
  CHECK(cluster.node(1).role() == Role::kFollower);
  CHECK(cluster.node(1).leader() == kNoNode);
}

TEST_CASE("leader stickiness: a follower that hears its leader ignores higher-term votes") {
  TestCluster cluster(3);
  cluster.elect(1);
  RaftNode& follower = cluster.node(2);
  follower.step({3, 2, 9, VoteRequest{false, 100, 100}});
  Ready ready = cluster.drain(2);
  CHECK(ready.messages.empty());
  CHECK(follower.term() == 1);
  CHECK(follower.leader() == 1);
  // Once the leader has been silent for the minimum timeout, the vote counts.
  cluster.tick(2, 10);
  cluster.drain(2);
  follower.step({3, 2, 9, VoteRequest{false, 100, 100}});
  ready = cluster.drain(2);
  REQUIRE(ready.messages.size() == 1);
  CHECK(body<VoteResponse>(ready.messages[0]).granted);
  CHECK(follower.term() == 9);
}

TEST_CASE("a stale leader learns the newer term from any answer and steps down") {
  TestCluster cluster(3);
  cluster.elect(1);
  cluster.isolate(1);
  NodeId new_leader = kNoNode;
  for (int i = 0; i < 60 && new_leader == kNoNode; ++i) {  // 2 and 3 elect one of them
    cluster.tick(2);
    cluster.tick(3);
    cluster.stabilize();
    for (NodeId id : {2, 3}) {
      if (cluster.node(id).role() == Role::kLeader) new_leader = id;
    }
  }
  REQUIRE(new_leader != kNoNode);
  REQUIRE(cluster.node(new_leader).term() == 2);
  CHECK(cluster.node(1).role() == Role::kLeader);  // has not noticed yet
  cluster.heal();
  cluster.tick(1, 2);  // its heartbeat is answered with term 2
  cluster.stabilize();
  CHECK(cluster.node(1).role() == Role::kFollower);
  CHECK(cluster.node(1).term() == 2);
  cluster.tick(new_leader, 2);  // and follows the new leader at its next heartbeat
  cluster.stabilize();
  CHECK(cluster.node(1).leader() == new_leader);
}

TEST_CASE("a split vote is retried after a new random timeout") {
  Config config = test_config();
  config.pre_vote = false;
  TestCluster cluster(3, config);
  cluster.isolate(3);
  cluster.tick(1, 20);
  cluster.tick(2, 20);  // both candidates in term 1, each votes for itself
  cluster.stabilize();
  cluster.heal();
  CHECK(cluster.node(1).role() == Role::kCandidate);
  CHECK(cluster.node(2).role() == Role::kCandidate);
  for (int i = 0;
       i < 60 && cluster.node(1).role() != Role::kLeader && cluster.node(2).role() != Role::kLeader;
       ++i) {
    cluster.tick_all();
    cluster.stabilize();
  }
  bool one_leader =
      (cluster.node(1).role() == Role::kLeader) != (cluster.node(2).role() == Role::kLeader);
  CHECK(one_leader);
}

}  // namespace
}  // namespace kv::raft::testing
