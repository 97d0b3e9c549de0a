// Replication: batching, pipelining, durability before acknowledgement, the commit rule,
// conflict resolution with fast backtracking.

#include <doctest/doctest.h>

#include "raft/test_cluster.h"

namespace kv::raft::testing {
namespace {

template <typename T>
const T& body(const Message& message) {
  return std::get<T>(message.body);
}

TEST_CASE("proposals between two Readys travel in one AppendEntries and commit in order") {
  TestCluster cluster(3);
  cluster.elect(1);
  for (int i = 0; i < 5; ++i) REQUIRE(cluster.node(1).propose("cmd" + std::to_string(i)).accepted);
  cluster.drain(1);
  std::vector<Message> appends = cluster.take<AppendRequest>(1);
  REQUIRE(appends.size() == 2);  // one per follower
  CHECK(body<AppendRequest>(appends[0]).entries.size() == 5);
  for (const Message& m : appends) cluster.queue.push_back(m);
  cluster.stabilize();
  cluster.tick(1, 2);
  cluster.stabilize();
  for (NodeId id : {1, 2, 3}) {
    REQUIRE(cluster.applied[id].size() == 6);  // no-op + 5
    for (int i = 0; i < 5; ++i)
      CHECK(cluster.applied[id][i + 1].payload == "cmd" + std::to_string(i));
  }
}

TEST_CASE("followers propose nothing: they name the leader") {
  TestCluster cluster(3);
  cluster.elect(1);
  Submission s = cluster.node(2).propose("x");
  CHECK_FALSE(s.accepted);
  CHECK(s.leader == 1);
}

TEST_CASE("a follower acknowledges entries only once they are durable") {
  TestCluster cluster(3);
  cluster.elect(1);
  cluster.auto_persist[2] = false;
  cluster.auto_persist[3] = false;
  Index index = cluster.node(1).propose("x").index;
  cluster.stabilize();
  CHECK(cluster.node(1).commit_index() < index);  // only the leader has it durably
  cluster.node(2).persisted(index, 1);
  cluster.stabilize();
  CHECK(cluster.node(1).commit_index() == index);
}

TEST_CASE("the leader counts itself toward commit only after its own append is durable") {
  TestCluster cluster(3);
  cluster.elect(1);
  cluster.auto_persist[1] = false;
  cluster.auto_persist[3] = false;
  Index index = cluster.node(1).propose("x").index;
  cluster.stabilize();  // follower 2 persisted, the leader and 3 did not
  CHECK(cluster.node(1).commit_index() < index);
  cluster.node(1).persisted(index, 1);
  cluster.stabilize();
  CHECK(cluster.node(1).commit_index() == index);
}

TEST_CASE("an entry of an earlier term is never committed by counting replicas") {
  // Node 1 and 2 hold 1/1 2/1 durably; node 3 only 1/1. Node 1 becomes leader of term 2:
  // 2/1 is on a majority, but it must wait for the term-2 no-op (paper figure 8).
  std::map<NodeId, RecoveredState> recovered;
  for (NodeId id : {1, 2, 3}) {
    recovered[id].hard_state = {1, kNoNode};
    recovered[id].entries = entries_of_term(1, id == 3 ? 1 : 2, 1);
  }
  TestCluster cluster(3, test_config(), recovered);
  cluster.auto_persist[1] = false;
  cluster.auto_persist[2] = false;
  cluster.elect(1);
  REQUIRE(cluster.node(1).role() == Role::kLeader);
  REQUIRE(cluster.node(1).term() == 2);
  CHECK(cluster.node(1).peers()[0].match == 2);  // node 2 acknowledged 2/1 durably
  CHECK(cluster.node(1).commit_index() == 0);
  cluster.node(1).persisted(3, 2);
  cluster.stabilize();
  CHECK(cluster.node(1).commit_index() == 3);  // majority for 3/2 (nodes 1 and 3)
}

TEST_CASE("a follower's conflicting suffix is truncated, found with few round trips") {
  // Node 3 was leader of term 2 and wrote 5 entries nobody else got.
  std::map<NodeId, RecoveredState> recovered;
  for (NodeId id : {1, 2, 3}) {
    recovered[id].hard_state = {3, kNoNode};
    recovered[id].entries = entries_of_term(1, 2, 1);
  }
  for (Entry& e : entries_of_term(3, 7, 2)) recovered[3].entries.push_back(e);
  for (Entry& e : entries_of_term(3, 4, 3)) {
    e.payload = "new" + e.payload;
    recovered[1].entries.push_back(e);
    recovered[2].entries.push_back(e);
  }
  TestCluster cluster(3, test_config(), recovered);
  cluster.tick(1, 20);  // node 1 runs for term 4
  int rejections = 0;
  std::optional<Index> truncated;
  for (int round = 0; round < 30; ++round) {
    for (NodeId id : {1, 2, 3}) {
      Ready ready = cluster.drain(id);
      if (id == 3 && ready.truncate_from) truncated = ready.truncate_from;
    }
    if (cluster.queue.empty()) break;
    std::deque<Message> batch;
    batch.swap(cluster.queue);
    for (const Message& m : batch) {
      auto* response = std::get_if<AppendResponse>(&m.body);
      if (response && !response->success) ++rejections;
      cluster.node(m.to).step(m);
    }
  }
  REQUIRE(cluster.node(1).role() == Role::kLeader);
  CHECK(rejections == 1);  // the hint skips node 3's whole term-2 run at once
  REQUIRE(truncated);
  CHECK(*truncated == 3);
  const RaftLog& log = cluster.node(3).log();
  REQUIRE(log.last_index() == 5);  // 1/1 2/1 3/3 4/3 and the no-op 5/4
  CHECK(log.at(3).payload == "newe3");
  CHECK(log.at(5).type == EntryType::kNoOp);
}

TEST_CASE("replication is pipelined up to the in-flight window") {
  Config config = test_config();
  config.max_entries_per_append = 1;
  config.max_inflight_appends = 3;
  TestCluster cluster(2, config);
  cluster.elect(1);
  for (int i = 0; i < 6; ++i) cluster.node(1).propose("p");
  cluster.drain(1);
  CHECK(cluster.take<AppendRequest>(1).size() == 3);  // the window, then wait
}

TEST_CASE("a lost append is repaired through the heartbeat answer") {
  TestCluster cluster(3);
  cluster.elect(1);
  Index index = cluster.node(1).propose("lost").index;
  cluster.drain(1);
  CHECK(cluster.take<AppendRequest>(1).size() == 2);  // both lost
  for (int i = 0; i < 6; ++i) {
    cluster.tick(1);
    cluster.stabilize();
  }
  CHECK(cluster.node(1).commit_index() == index);
  CHECK(cluster.node(2).log().last_index() == index);
}

TEST_CASE("restart: durable entries up to the stored commit index are applied again") {
  RecoveredState state;
  state.hard_state = {1, 1};
  state.entries = entries_of_term(1, 4, 1);
  state.commit_index = 3;
  RaftNode node(2, {1, 2, 3}, test_config(), 1, state);
  Ready ready = node.take_ready();
  REQUIRE(ready.committed_entries.size() == 3);
  CHECK(ready.committed_entries[2].payload == "e3");
  CHECK(ready.entries.empty());  // the host has them already
}

}  // namespace
}  // namespace kv::raft::testing
