#include "cluster/membership_plan.h"

#include <fmt/format.h>

#include <algorithm>

namespace kv::cluster {
namespace {

// The command line without the value of --peers (it lists every node, so it changes with
// every membership change, while what the node runs stays the same).
std::vector<std::string> command_without_peers(const ClusterConfig& config, const NodeSpec& n) {
  std::vector<std::string> argv = config.command(n);
  auto it = std::find(argv.begin(), argv.end(), "--peers");
  if (it != argv.end() && it + 1 != argv.end()) argv.erase(it + 1);
  return argv;
}

std::string what_changed(const NodeSpec& before, const NodeSpec& after) {
  bool port = before.port != after.port;
  bool host = ClusterConfig::probe_host(before) != ClusterConfig::probe_host(after);
  if (port && host) return "host and port changed";
  return port ? "port changed" : "host changed";
}

}  // namespace

std::string describe_op(const ClusterOp& op) {
  std::string name = node_name(op.id);
  std::string why = op.why.empty() ? "" : " (" + op.why + ")";
  switch (op.kind) {
    case ClusterOp::Kind::kAdd:
      return fmt::format("add {}{}", name, why);
    case ClusterOp::Kind::kRemove:
      return fmt::format("remove {}{}", name, why);
    case ClusterOp::Kind::kRestart:
      return fmt::format("restart {}{}", name, why);
    case ClusterOp::Kind::kRollingRestart:
      return "rolling restart" + why;
  }
  return "?";
}

bool raft_address_changed(const NodeSpec& before, const NodeSpec& after) {
  return before.port != after.port ||
         ClusterConfig::probe_host(before) != ClusterConfig::probe_host(after);
}

ConfigDiff diff_members(const ClusterConfig& before, const ClusterConfig& after) {
  ConfigDiff d;
  for (const auto& n : after.nodes) {
    const NodeSpec* old = before.find(n.id);
    if (old == nullptr) {
      d.added.push_back(n.id);
    } else if (command_without_peers(before, *old) != command_without_peers(after, n) ||
               old->host != n.host) {
      d.changed.push_back(n.id);
    }
  }
  for (const auto& n : before.nodes) {
    if (after.find(n.id) == nullptr) d.removed.push_back(n.id);
  }
  return d;
}

std::vector<ClusterOp> plan_reload(const ClusterConfig& before, const ClusterConfig& after,
                                   const std::set<int>& local_before,
                                   const std::set<int>& local_after) {
  using Kind = ClusterOp::Kind;
  std::vector<ClusterOp> adds, moves, removes, restarts;
  for (const auto& n : after.nodes) {
    bool here = local_after.count(n.id) != 0;
    bool was_here = local_before.count(n.id) != 0;
    const NodeSpec* old = before.find(n.id);
    if (old == nullptr) {
      if (here) adds.push_back({Kind::kAdd, n.id, "added to cluster.json"});
      continue;
    }
    if (was_here && !here) {
      moves.push_back({Kind::kRemove, n.id, "moved to another machine"});
    } else if (!was_here && here) {
      moves.push_back({Kind::kAdd, n.id, "moved to this machine"});
    } else if (here && raft_address_changed(*old, n)) {
      std::string why = what_changed(*old, n);
      moves.push_back({Kind::kRemove, n.id, why});
      moves.push_back({Kind::kAdd, n.id, why});
    } else if (here && command_without_peers(before, *old) != command_without_peers(after, n)) {
      restarts.push_back({Kind::kRestart, n.id, "command line changed"});
    }
  }
  for (const auto& n : before.nodes) {
    if (after.find(n.id) == nullptr && local_before.count(n.id) != 0) {
      removes.push_back({Kind::kRemove, n.id, "removed from cluster.json"});
    }
  }
  std::vector<ClusterOp> plan;
  for (auto* part : {&adds, &moves, &removes, &restarts}) {
    plan.insert(plan.end(), part->begin(), part->end());
  }
  return plan;
}

std::vector<int> rolling_restart_order(const std::vector<int>& local_ids, int leader) {
  std::vector<int> order;
  for (int id : local_ids) {
    if (id != leader) order.push_back(id);
  }
  if (std::find(local_ids.begin(), local_ids.end(), leader) != local_ids.end()) {
    order.push_back(leader);
  }
  return order;
}

}  // namespace kv::cluster
