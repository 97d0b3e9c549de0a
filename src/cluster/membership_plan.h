// Membership plans for raft mode (README "Live membership"): how a reload of cluster.json, or
// a rolling restart, turns into a queue of one-node operations that the ChangeRunner performs
// one at a time (one server at a time, as Raft's membership changes require). Pure: configs
// and ids in, operations out.
//
// Reload, when both files are raft mode with the same secret (otherwise processes simply
// restart, see Supervisor::reload): nodes are compared by id, ignoring --peers (membership
// lives in the Raft log, not on the command line):
//   added (runs here)                      kAdd: start with --join, ADDLEARNER, catch up, PROMOTE
//   removed (ran here)                     kRemove: REMOVE, then stop the process
//   raft address changed (host/port)       kRemove then kAdd (same id, same data dir)
//   moved here from another machine        kAdd (waits until the other machine removed it)
//   moved to another machine               kRemove (the other machine adds it)
//   other command-line change (args, ...)  kRestart: one at a time, caught up before the next
// Only nodes of this machine get operations: each machine's kvcluster changes the membership
// of the nodes it runs. Order: additions, then address changes, then removals, then restarts,
// each in file order, so a replaced node's successor votes before the node leaves.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "cluster/cluster_config.h"

namespace kv::cluster {

struct ClusterOp {
  enum class Kind {
    kAdd,             // a new member: learner first, promoted to voter once caught up
    kRemove,          // out of the group, then its process stopped (when it runs here)
    kRestart,         // stop gracefully, start, wait until caught up (leadership moved first)
    kRollingRestart,  // expands into kRestart of every local node, followers first
  };
  Kind kind = Kind::kAdd;
  int id = 0;       // the node, one of this machine's (not used by kRollingRestart)
  std::string why;  // "added to cluster.json", "port changed", ...
  bool operator==(const ClusterOp&) const = default;
};

// "add node4 (added to cluster.json)".
std::string describe_op(const ClusterOp& op);

// What changed between two raft-mode files, by id, ignoring --peers: `changed` holds address
// changes and other command-line changes alike.
ConfigDiff diff_members(const ClusterConfig& before, const ClusterConfig& after);
// Whether the address the other members use to reach the node changed (host or port).
bool raft_address_changed(const NodeSpec& before, const NodeSpec& after);

// The operations a reload performs. local_before / local_after: the ids of each file that run
// on this machine.
std::vector<ClusterOp> plan_reload(const ClusterConfig& before, const ClusterConfig& after,
                                   const std::set<int>& local_before,
                                   const std::set<int>& local_after);

// The order of a rolling restart: the local followers (and learners) in the given order, then
// the leader if it is local. leader 0: unknown (the given order).
std::vector<int> rolling_restart_order(const std::vector<int>& local_ids, int leader);

}  // namespace kv::cluster
