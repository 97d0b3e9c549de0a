// ReadIndex: reads confirmed by a heartbeat round, batched, never before the leader
// committed in its term, dropped when leadership is lost.

#include <doctest/doctest.h>

#include "raft/test_cluster.h"

namespace kv::raft::testing {
namespace {

TEST_CASE("reads arriving together share one heartbeat round and report the commit index") {
  TestCluster cluster(3);
  cluster.elect(1);
  cluster.stabilize();
  Index commit = cluster.node(1).commit_index();
  REQUIRE(commit == 1);
  REQUIRE(cluster.node(1).read_index(100).accepted);
  REQUIRE(cluster.node(1).read_index(101).accepted);
  Ready ready = cluster.drain(1);
  CHECK(ready.read_states.empty());  // not before a majority answered
  std::vector<Message> heartbeats = cluster.take<Heartbeat>(1);
  REQUIRE(heartbeats.size() == 2);  // one round for both reads
  cluster.node(2).step(heartbeats[0]);
  cluster.drain(2);
  cluster.stabilize();
  REQUIRE(cluster.reads[1].size() == 2);
  CHECK(cluster.reads[1][0].request_id == 100);
  CHECK(cluster.reads[1][1].request_id == 101);
  CHECK(cluster.reads[1][0].index == commit);
}

TEST_CASE("a read waits until the new leader committed an entry of its own term") {
  TestCluster cluster(3);
  cluster.auto_persist[2] = false;  // followers cannot make the no-op durable yet
  cluster.auto_persist[3] = false;
  cluster.tick(1, 20);
  cluster.stabilize();
  REQUIRE(cluster.node(1).role() == Role::kLeader);
  REQUIRE(cluster.node(1).commit_index() == 0);
  REQUIRE(cluster.node(1).read_index(7).accepted);
  cluster.tick(1, 2);
  cluster.stabilize();
  CHECK(cluster.reads[1].empty());  // leadership confirmed, but the commit index may be stale

  cluster.node(2).persisted(1, 1);
  cluster.stabilize();
  REQUIRE(cluster.node(1).commit_index() == 1);
  REQUIRE(cluster.reads[1].size() == 1);
  CHECK(cluster.reads[1][0].index == 1);
}

TEST_CASE("followers do not serve ReadIndex; a deposed leader drops its pending reads") {
  TestCluster cluster(3);
  cluster.elect(1);
  Submission s = cluster.node(2).read_index(1);
  CHECK_FALSE(s.accepted);
  CHECK(s.leader == 1);

  REQUIRE(cluster.node(1).read_index(9).accepted);
  cluster.isolate(1);
  cluster.tick(1, 20);  // CheckQuorum
  Ready ready = cluster.drain(1);
  CHECK(cluster.node(1).role() == Role::kFollower);
  REQUIRE(ready.dropped_reads.size() == 1);
  CHECK(ready.dropped_reads[0] == 9);
}

TEST_CASE("a one-member group confirms reads on its own") {
  RaftNode node(1, {1}, test_config(), 1, {});
  node.take_ready();
  REQUIRE(node.read_index(5).accepted);
  CHECK(node.take_ready().read_states.empty());  // its no-op is not durable yet
  node.persisted(1, 1);
  Ready ready = node.take_ready();
  REQUIRE(ready.read_states.size() == 1);
  CHECK(ready.read_states[0].index == 1);
}

}  // namespace
}  // namespace kv::raft::testing
