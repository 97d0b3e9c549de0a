// membership_plan: what a reload of cluster.json in raft mode turns into (one-node operations
// in a safe order) and the order of a rolling restart. Pure.
#include "cluster/membership_plan.h"

#include <doctest/doctest.h>

namespace kv::cluster {
namespace {

using Kind = ClusterOp::Kind;

ClusterConfig raft_config(const std::vector<NodeSpec>& nodes) {
  ClusterConfig c;
  c.kvstore = "/bin/kvstore";
  c.mode = kModeRaft;
  c.nodes = nodes;
  return c;
}

NodeSpec node(int id, uint16_t port, std::string host = "127.0.0.1") {
  NodeSpec n;
  n.id = id;
  n.name = node_name(id);
  n.host = std::move(host);
  n.port = port;
  n.data_dir = "/d/node" + std::to_string(id);
  return n;
}

std::set<int> ids(const ClusterConfig& c) {
  std::set<int> out;
  for (const auto& n : c.nodes) out.insert(n.id);
  return out;
}

TEST_CASE("adding a node: one kAdd; --peers changing everywhere restarts nobody") {
  ClusterConfig before = raft_config({node(1, 9001), node(2, 9002), node(3, 9003)});
  ClusterConfig after = raft_config({node(1, 9001), node(2, 9002), node(3, 9003), node(4, 9004)});
  CHECK(before.command(before.nodes[0]) != after.command(after.nodes[0]));  // --peers differs
  auto plan = plan_reload(before, after, ids(before), ids(after));
  CHECK(plan == std::vector<ClusterOp>{{Kind::kAdd, 4, "added to cluster.json"}});
  CHECK(diff_members(before, after).summary() == "+node4");
  CHECK(describe_op(plan[0]) == "add node4 (added to cluster.json)");
}

TEST_CASE("a replacement: the new node is added before the old one leaves; args restart") {
  ClusterConfig before = raft_config({node(1, 9001), node(2, 9002), node(3, 9003)});
  NodeSpec changed = node(1, 9001);
  changed.args = {"--max-clients", "100"};
  ClusterConfig after = raft_config({changed, node(2, 9012), node(4, 9004)});
  auto plan = plan_reload(before, after, ids(before), ids(after));
  CHECK(plan == std::vector<ClusterOp>{{Kind::kAdd, 4, "added to cluster.json"},
                                       {Kind::kRemove, 2, "port changed"},
                                       {Kind::kAdd, 2, "port changed"},
                                       {Kind::kRemove, 3, "removed from cluster.json"},
                                       {Kind::kRestart, 1, "command line changed"}});
  CHECK(diff_members(before, after).summary() == "+node4 -node3 ~node1 ~node2");
}

TEST_CASE("only this machine's nodes get operations; moves between machines") {
  ClusterConfig before =
      raft_config({node(1, 9001), node(2, 9001, "10.0.0.2"), node(3, 9001, "10.0.0.3")});
  ClusterConfig after = raft_config({node(1, 9001, "10.0.0.9"), node(2, 9001, "127.0.0.1"),
                                     node(3, 9001, "10.0.0.3"), node(5, 9005, "10.0.0.5")});
  // Here: node1 before, node2 after.
  auto plan = plan_reload(before, after, {1}, {2});
  CHECK(plan == std::vector<ClusterOp>{{Kind::kRemove, 1, "moved to another machine"},
                                       {Kind::kAdd, 2, "moved to this machine"}});
}

TEST_CASE("nothing but --peers or a wildcard host's probe address: no operation") {
  ClusterConfig before = raft_config({node(1, 9001), node(2, 9002)});
  ClusterConfig after = before;
  CHECK(plan_reload(before, after, ids(before), ids(after)).empty());
  CHECK(diff_members(before, after).empty());
  NodeSpec wildcard = node(2, 9002, "0.0.0.0");  // reached at 127.0.0.1 all the same
  ClusterConfig rebound = raft_config({node(1, 9001), wildcard});
  CHECK_FALSE(raft_address_changed(before.nodes[1], wildcard));
  CHECK(plan_reload(before, rebound, ids(before), ids(rebound)) ==
        std::vector<ClusterOp>{{Kind::kRestart, 2, "command line changed"}});  // --bind
}

TEST_CASE("rolling restart order: followers in the given order, the leader last") {
  CHECK(rolling_restart_order({1, 2, 3}, 2) == std::vector<int>{1, 3, 2});
  CHECK(rolling_restart_order({1, 2, 3}, 7) == std::vector<int>{1, 2, 3});  // leads elsewhere
  CHECK(rolling_restart_order({1, 2, 3}, 0) == std::vector<int>{1, 2, 3});
  CHECK(describe_op({Kind::kRollingRestart, 0, "kvcluster restart"}) ==
        "rolling restart (kvcluster restart)");
}

}  // namespace
}  // namespace kv::cluster
