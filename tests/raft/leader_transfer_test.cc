// Leadership transfer (dissertation 3.10): TimeoutNow once the target is up to date, no
// proposals meanwhile, CheckQuorum's vote suppression let through, abort after a timeout,
// and a bound on how long it takes on a healthy network.

#include <doctest/doctest.h>

#include "raft/test_cluster.h"

namespace kv::raft::testing {
namespace {

// One tick everywhere, then one network hop: messages take a tick each way.
void tick_and_hop(TestCluster& cluster) {
  cluster.tick_all();
  cluster.deliver_round();
}

TEST_CASE("transfer to an up-to-date voter: TimeoutNow at once, it wins the next term") {
  TestCluster cluster = led_by_1(3);
  cluster.delivered.clear();
  REQUIRE(cluster.node(1).transfer_leadership(2));
  CHECK(cluster.node(1).transfer_target() == 2);
  cluster.drain(1);
  std::vector<Message> timeout_now = cluster.take<TimeoutNow>(1);
  REQUIRE(timeout_now.size() == 1);
  CHECK(timeout_now[0].to == 2);
  cluster.queue.push_back(timeout_now[0]);
  cluster.stabilize();
  // Voters 1 and 3 heard from their leader just now: only the transfer mark got the
  // RequestVote past CheckQuorum's vote suppression. No PreVote was asked.
  CHECK(cluster.node(2).role() == Role::kLeader);
  CHECK(cluster.node(2).term() == 2);
  CHECK(cluster.node(1).role() == Role::kFollower);
  CHECK(cluster.node(1).transfer_target() == kNoNode);
  for (const Message& m : cluster.delivered) {
    if (auto* request = std::get_if<VoteRequest>(&m.body)) {
      CHECK_FALSE(request->pre_vote);
      CHECK(request->transfer);
    }
  }
}

TEST_CASE("only a transfer's RequestVote passes a follower's leader lease") {
  TestCluster cluster = led_by_1(3);
  cluster.node(3).step({2, 3, 2, VoteRequest{false, 10, 1, false}});
  Ready ready = cluster.drain(3);
  CHECK(ready.messages.empty());
  CHECK(cluster.node(3).term() == 1);
  cluster.node(3).step({2, 3, 2, VoteRequest{false, 10, 1, true}});
  ready = cluster.drain(3);
  REQUIRE(ready.messages.size() == 1);
  CHECK(std::get<VoteResponse>(ready.messages[0].body).granted);
  CHECK(cluster.node(3).term() == 2);
}

TEST_CASE("transfer to a lagging voter: proposals wait, it catches up first") {
  TestCluster cluster = led_by_1(3);
  cluster.isolate(3);
  for (int i = 0; i < 5; ++i) cluster.node(1).propose("v" + std::to_string(i));
  cluster.stabilize();
  Index last = cluster.node(1).log().last_index();
  REQUIRE(cluster.node(3).log().last_index() < last);
  REQUIRE(cluster.node(1).transfer_leadership(3));
  Submission s = cluster.node(1).propose("during");
  CHECK_FALSE(s.accepted);
  CHECK(s.refusal == Refusal::kTransferring);
  CHECK(cluster.node(1).propose_config({ConfigChange::Kind::kRemove, 2}).refusal ==
        Refusal::kTransferring);
  CHECK(cluster.node(1).read_index(1).accepted);  // reads go on
  cluster.drain(1);
  CHECK(cluster.take<TimeoutNow>(1).empty());  // not before it has everything

  cluster.heal();
  cluster.tick(1, 2);
  cluster.stabilize();
  CHECK(cluster.node(3).role() == Role::kLeader);
  CHECK(cluster.node(3).log().at(last).payload == "v4");
}

TEST_CASE("a transfer that does not happen is given up after an election timeout") {
  TestCluster cluster = led_by_1(3);
  cluster.isolate(2);
  REQUIRE(cluster.node(1).transfer_leadership(2));
  for (int i = 0; i < test_config().election_timeout_max - 1; ++i) {
    cluster.tick(1);
    cluster.tick(3);
    cluster.stabilize();
  }
  CHECK(cluster.node(1).transfer_target() == 2);
  CHECK(cluster.node(1).propose("x").refusal == Refusal::kTransferring);
  cluster.tick(1);
  CHECK(cluster.node(1).transfer_target() == kNoNode);
  CHECK(cluster.node(1).role() == Role::kLeader);
  CHECK(cluster.node(1).propose("x").accepted);
}

TEST_CASE("transfer_leadership refuses what it cannot do") {
  TestCluster cluster = led_by_1(3);
  cluster.add_node(4);
  REQUIRE(cluster.node(1).propose_config({ConfigChange::Kind::kAddLearner, 4}).accepted);
  cluster.stabilize();
  CHECK_FALSE(cluster.node(2).transfer_leadership(3));  // not the leader
  CHECK_FALSE(cluster.node(1).transfer_leadership(1));  // itself
  CHECK_FALSE(cluster.node(1).transfer_leadership(4));  // a learner
  CHECK_FALSE(cluster.node(1).transfer_leadership(9));  // unknown
  cluster.isolate(2);
  REQUIRE(cluster.node(1).transfer_leadership(2));
  CHECK(cluster.node(1).transfer_leadership(2));        // already under way
  CHECK_FALSE(cluster.node(1).transfer_leadership(3));  // one at a time
}

TEST_CASE("on a healthy network a transfer completes within a few ticks, even to a laggard") {
  // Each tick every node ticks once and every message in flight arrives: one hop per tick.
  constexpr int kMaxTicks = 10;  // election_timeout_min: well before anyone would time out
  TestCluster cluster = led_by_1(5);
  NodeId leader = 1;
  int slowest = 0;
  for (int round = 0; round < 20; ++round) {
    NodeId target = leader % 5 + 1;
    if (round % 2 == 1) {  // the target misses a few entries first
      cluster.isolate(target);
      for (int i = 0; i < 3; ++i) cluster.node(leader).propose("r" + std::to_string(round));
      cluster.stabilize();
      cluster.heal();
    }
    Term term = cluster.node(leader).term();
    REQUIRE(cluster.node(leader).transfer_leadership(target));
    int ticks = 0;
    while (cluster.node(target).role() != Role::kLeader && ticks < 5 * kMaxTicks) {
      tick_and_hop(cluster);
      ++ticks;
    }
    INFO("round " << round << ": " << leader << " -> " << target);
    CHECK(ticks <= kMaxTicks);
    REQUIRE(cluster.node(target).role() == Role::kLeader);
    CHECK(cluster.node(target).term() == term + 1);
    slowest = std::max(slowest, ticks);
    leader = target;
    cluster.stabilize();
  }
  MESSAGE("slowest transfer: " << slowest << " ticks");
}

}  // namespace
}  // namespace kv::raft::testing
