// ClusterHealth: the verdict of `kvcluster status` on the cluster as a whole, from the status
// document's nodes (Supervisor::status_json, or the direct probes made when no supervisor
// runs). It gives the one-line summary printed under the table and the exit code. Pure.
//
// Raft mode (members = the voters among the nodes of cluster.json: not counted are nodes a
// reload is removing, nodes still joining ("change": "joining") and nodes whose INFO says
// role learner, joining or removed; those are listed at the end of the summary,
// "; not voting: node4 (learner)"):
//   healthy    exit 0  every member answers, all name the same leader, and it says it leads
//   degraded   exit 1  a majority answers and a majority names the same leader, but not all is
//                      well (a member down, lagging behind on who leads, ...)
//   no quorum  exit 2  fewer than a majority answer, or no leader is named by a majority
// Independent mode: healthy (exit 0) when every node answers, else degraded (exit 1).
//
// A node answers when the document says so ("answering"; for documents without that field:
// state "running"). Its view of the cluster comes from its INFO: role, term, leader_id.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kv::cluster {

enum class HealthLevel { kHealthy, kDegraded, kNoQuorum };

inline constexpr int kExitHealthy = 0;
inline constexpr int kExitDegraded = 1;
inline constexpr int kExitNoQuorum = 2;

struct ClusterHealth {
  HealthLevel level = HealthLevel::kNoQuorum;
  std::string summary;  // one line, no '\n': "cluster: healthy, leader node2, term 5"
  int members = 0;      // nodes counted (raft: voters)
  std::vector<std::string> non_voters;  // raft: joining nodes, learners, ...: not counted
  int up = 0;                           // of which answering
  std::string leader;                   // "node2" when a majority names it, else empty
  std::string term;                     // the leader's term, when known

  int exit_code() const;
  // {"level":"healthy"|"degraded"|"no_quorum","summary":..,"members":3,"up":3,
  //  "leader":"node2"|null,"term":"5"|null,"non_voters":["node4"],"exit_code":0}
  nlohmann::json to_json() const;
};

// nodes: the status document's "nodes" array.
ClusterHealth assess_raft_health(const nlohmann::json& nodes);
ClusterHealth assess_independent_health(const nlohmann::json& nodes);
// The one to use for a status document ("mode": "raft" picks raft; anything else independent).
ClusterHealth assess_health(const nlohmann::json& status);

}  // namespace kv::cluster
