// The cluster.json edits of membership faults. Each edited file is fed to kvcluster's own
// parser and reload planner, so the test fails if kvcluster would reject the file or read
// the edit as anything but one membership change (not a restart of the other nodes).
#include "chaos/cluster_json.h"

#include <doctest/doctest.h>

#include <set>

#include "cluster/cluster_config.h"
#include "cluster/membership_plan.h"
#include "testing/test_util.h"

namespace kv::chaos {
namespace {

constexpr const char* kPath = "/tmp/x/cluster.json";

cluster::ClusterConfig parsed(const nlohmann::json& j) {
  auto config = cluster::parse_cluster_config(j.dump(), kPath, "/usr/bin/false");
  REQUIRE_MESSAGE(config.ok(), config.status().ToString());
  return config.value();
}

std::set<int> all_ids(const cluster::ClusterConfig& c) {
  std::set<int> ids;
  for (const auto& n : c.nodes) ids.insert(n.id);
  return ids;
}

ClusterSpec raft_spec() {
  ClusterSpec spec;
  spec.kvstore = "/opt/kv/kvstore";
  return spec;
}

TEST_CASE("cluster.json edits: a new node is appended; kvcluster plans exactly one add") {
  const ClusterSpec spec = raft_spec();
  const nlohmann::json start = make_cluster_json(spec, {7001, 7002, 7003});
  auto added = with_node_added(start, node_entry(spec, 4, 7004));
  REQUIRE(added.ok());
  CHECK(node_ids(added.value()) == std::vector<int>{1, 2, 3, 4});
  CHECK(added.value()["nodes"][3]["data_dir"] == "node4");
  CHECK(added.value()["mode"] == "raft");

  const auto before = parsed(start), after = parsed(added.value());
  REQUIRE(after.nodes.size() == 4);
  CHECK(after.nodes[3].data_dir == "/tmp/x/node4");
  const auto ops = cluster::plan_reload(before, after, all_ids(before), all_ids(after));
  REQUIRE(ops.size() == 1);
  CHECK(ops[0].kind == cluster::ClusterOp::Kind::kAdd);
  CHECK(ops[0].id == 4);
}

TEST_CASE("cluster.json edits: a removed node goes; kvcluster plans exactly one remove") {
  const ClusterSpec spec = raft_spec();
  const nlohmann::json four =
      with_node_added(make_cluster_json(spec, {7001, 7002, 7003}), node_entry(spec, 4, 7004))
          .value();
  auto removed = with_node_removed(four, 2);
  REQUIRE(removed.ok());
  CHECK(node_ids(removed.value()) == std::vector<int>{1, 3, 4});

  const auto before = parsed(four), after = parsed(removed.value());
  const auto ops = cluster::plan_reload(before, after, all_ids(before), all_ids(after));
  REQUIRE(ops.size() == 1);
  CHECK(ops[0].kind == cluster::ClusterOp::Kind::kRemove);
  CHECK(ops[0].id == 2);
}

TEST_CASE("cluster.json edits: no id, port or data dir used twice; unknown and last refused") {
  const ClusterSpec spec = raft_spec();
  const nlohmann::json start = make_cluster_json(spec, {7001, 7002, 7003});
  CHECK(with_node_added(start, node_entry(spec, 2, 7009)).status().is_invalid_argument());
  CHECK(with_node_added(start, node_entry(spec, 5, 7003)).status().is_invalid_argument());
  nlohmann::json same_dir = node_entry(spec, 5, 7005);
  same_dir["data_dir"] = "node1";
  CHECK(with_node_added(start, same_dir).status().is_invalid_argument());

  CHECK(with_node_removed(start, 9).status().is_not_found());
  nlohmann::json one = with_node_removed(with_node_removed(start, 1).value(), 2).value();
  CHECK(node_ids(one) == std::vector<int>{3});
  CHECK(with_node_removed(one, 3).status().is_invalid_argument());
  CHECK(with_node_added(nlohmann::json::object(), node_entry(spec, 1, 7001))
            .status()
            .is_invalid_argument());
}

TEST_CASE("cluster.json edits: --unsafe nodes added later get --unsafe-local-reads too") {
  ClusterSpec spec = raft_spec();
  spec.unsafe_local_reads = true;
  CHECK(node_entry(spec, 7, 7007)["args"] == nlohmann::json::array({"--unsafe-local-reads"}));
}

TEST_CASE("write_file_atomically: replaces the file whole and leaves no temp file") {
  kv::testing::TempDir dir;
  const std::string path = dir.file("cluster.json");
  REQUIRE(write_file_atomically(path, "{\"a\": 1}\n").ok());
  CHECK(kv::testing::read_file(path) == "{\"a\": 1}\n");
  REQUIRE(write_file_atomically(path, "{}\n").ok());
  CHECK(kv::testing::read_file(path) == "{}\n");
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  CHECK_FALSE(write_file_atomically(dir.file("missing/cluster.json"), "{}").ok());
}

}  // namespace
}  // namespace kv::chaos
