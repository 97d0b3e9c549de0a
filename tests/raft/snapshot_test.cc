// Snapshots: compaction, InstallSnapshot in chunks to a follower behind the log start, and
// restart from a snapshot.

#include <doctest/doctest.h>

#include "raft/test_cluster.h"

namespace kv::raft::testing {
namespace {

TEST_CASE("a follower behind the compacted log start receives the snapshot in chunks") {
  Config config = test_config();
  config.snapshot_chunk_bytes = 10;
  TestCluster cluster(3, config);
  cluster.elect(1);
  cluster.isolate(3);
  for (int i = 0; i < 5; ++i) cluster.node(1).propose("v" + std::to_string(i));
  cluster.stabilize();
  REQUIRE(cluster.node(1).commit_index() == 6);
  auto data = std::make_shared<const std::string>("state-machine-image-of-35-bytes....");
  cluster.node(1).compact(4, data);
  CHECK(cluster.node(1).log().first_index() == 5);

  cluster.heal();
  for (int i = 0; i < 10; ++i) {
    cluster.tick(1);
    cluster.stabilize();
  }
  int chunks = 0;
  for (const Message& m : cluster.delivered) {
    if (std::holds_alternative<SnapshotChunk>(m.body)) ++chunks;
  }
  CHECK(chunks >= 4);  // 35 bytes in 10-byte chunks
  REQUIRE(cluster.installed[3].size() == 1);
  const SnapshotInstall& install = cluster.installed[3][0];
  CHECK(install.meta.last_index == 4);
  CHECK(install.meta.last_term == 1);
  CHECK(*install.data == *data);
  // Then the log after the snapshot, and commit.
  CHECK(cluster.node(3).log().first_index() == 5);
  CHECK(cluster.node(3).log().last_index() == 6);
  CHECK(cluster.node(3).commit_index() == 6);
  REQUIRE(cluster.applied[3].size() == 3);  // the no-op before it was cut off, then 5 and 6
  CHECK(cluster.applied[3][1].index == 5);
  CHECK(cluster.node(1).peers()[1].match == 6);
}

TEST_CASE("a snapshot whose last entry the follower holds installs nothing") {
  RecoveredState state;
  state.hard_state = {1, kNoNode};
  state.entries = entries_of_term(1, 5, 1);
  RaftNode follower(2, {1, 2, 3}, test_config(), 1, state);
  follower.step({1, 2, 1, SnapshotChunk{{3, 1}, 0, "img", true}});
  Ready ready = follower.take_ready();
  CHECK_FALSE(ready.install_snapshot);
  // The suffix stays: this node may have acknowledged it, counting toward a commit.
  CHECK(follower.log().last_index() == 5);
  CHECK(follower.commit_index() == 3);
  REQUIRE(ready.messages.size() == 1);
  // Only the snapshot's part is known to match this leader's log.
  CHECK(std::get<AppendResponse>(ready.messages[0].body).match_index == 3);
}

TEST_CASE("out-of-order chunks are answered with the offset expected") {
  RaftNode follower(2, {1, 2, 3}, test_config(), 1, {});
  follower.step({1, 2, 1, SnapshotChunk{{9, 1}, 0, "abc", false}});
  follower.step({1, 2, 1, SnapshotChunk{{9, 1}, 6, "ghi", true}});  // 3..5 lost
  Ready ready = follower.take_ready();
  REQUIRE(ready.messages.size() == 2);
  CHECK(std::get<SnapshotResponse>(ready.messages[0].body).next_offset == 3);
  CHECK(std::get<SnapshotResponse>(ready.messages[1].body).next_offset == 3);
  CHECK_FALSE(ready.install_snapshot);
  follower.step({1, 2, 1, SnapshotChunk{{9, 1}, 3, "def", false}});
  follower.step({1, 2, 1, SnapshotChunk{{9, 1}, 6, "ghi", true}});
  ready = follower.take_ready();
  REQUIRE(ready.install_snapshot);
  CHECK(*ready.install_snapshot->data == "abcdefghi");
  CHECK(follower.commit_index() == 9);
  CHECK(follower.log().first_index() == 10);
}

TEST_CASE("a restarted leader serves its recovered snapshot to followers") {
  std::map<NodeId, RecoveredState> recovered;
  recovered[1].hard_state = {2, 1};
  recovered[1].snapshot = {10, 2};
  recovered[1].snapshot_data = std::make_shared<const std::string>("ten entries");
  recovered[1].entries = entries_of_term(11, 12, 2);
  recovered[1].commit_index = 12;
  recovered[2].hard_state = {2, 1};
  recovered[3].hard_state = {2, 1};
  TestCluster cluster(3, test_config(), recovered);
  cluster.elect(1);
  REQUIRE(cluster.node(1).role() == Role::kLeader);
  cluster.tick(1, 4);
  cluster.stabilize();
  for (NodeId id : {2, 3}) {
    REQUIRE(cluster.installed[id].size() == 1);
    CHECK(cluster.node(id).log().last_index() == 13);
  }
}

}  // namespace
}  // namespace kv::raft::testing
