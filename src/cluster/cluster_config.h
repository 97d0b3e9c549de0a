// ClusterConfig: the parsed, validated cluster.json (the schema is in README "cluster.json").
// Parsing is pure (text in, config or one error line out); load_cluster_config() adds the
// file read. Every error names the file and the field, e.g.
//   cluster.json: nodes[2].port: 9002 is used by nodes[1]
// Relative paths are resolved against the directory holding the file. Value type.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kv::cluster {

// When and how often a node that exits unexpectedly is started again (see RestartPolicy).
struct RestartSettings {
  std::chrono::milliseconds initial_backoff{100};  // delay before the first restart
  std::chrono::milliseconds max_backoff{10000};    // the doubling stops here
  std::chrono::milliseconds healthy_after{10000};  // up and answering this long: failures reset
  int max_failures = 5;  // more consecutive failures than this without being healthy: failed
  bool operator==(const RestartSettings&) const = default;
};

// How the supervisor checks that a node answers (PING + INFO over its own port).
struct ProbeSettings {
  std::chrono::milliseconds interval{1000};  // between probes of a running node
  std::chrono::milliseconds timeout{1000};   // a probe not answered by then failed
  int failures = 3;  // consecutive failed probes before a running node is `unresponsive`
  bool operator==(const ProbeSettings&) const = default;
};

struct NodeSpec {
  int id = 0;
  std::string name;  // "node<id>": the prefix in the output stream
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string data_dir;           // absolute
  std::vector<std::string> args;  // extra kvstore flags, passed through as is
  bool operator==(const NodeSpec&) const = default;
};

// "raft": the nodes form one replicated store (each gets --id and --peers, and the cluster
// secret in its environment). "independent": each node is a separate store, as in the seed.
inline constexpr const char* kModeRaft = "raft";
inline constexpr const char* kModeIndependent = "independent";

struct ClusterConfig {
  std::string path;       // the file as named by the user (used in messages)
  std::string dir;        // absolute directory holding the file
  std::string state_dir;  // dir/.kvcluster: lock, control socket, log files, generated secret
  std::string kvstore;    // absolute path of the node binary
  std::string mode = kModeIndependent;  // absent from the file: independent (older files)
  // The top-level "secret": what raft peers present to each other. Absent: kvcluster keeps a
  // generated one in state_dir (see cluster_secret.h). Never printed.
  std::optional<std::string> secret;
  std::optional<std::string> fsync;  // passed as --fsync unless a node's args set it
  RestartSettings restart;
  ProbeSettings probe;
  std::chrono::milliseconds stop_timeout{10000};  // SIGTERM, then SIGKILL after this
  uint64_t log_max_bytes = 10 * 1024 * 1024;      // per node log file; rotated once at the cap
  // In file order. Ids are unique; ports and data dirs are unique per host (two hosts may share
  // a port; a wildcard host 0.0.0.0/:: clashes with any host on its port; data dirs clash
  // between hosts that both mean "this machine": 127.x, localhost, ::1, 0.0.0.0, ::).
  std::vector<NodeSpec> nodes;

  bool raft() const { return mode == kModeRaft; }
  const NodeSpec* find(int id) const;
  // The full command line of a node (run only on the machine its host is, see host_locality.h):
  //   kvstore --port P --data-dir D [--bind H] [--id N --peers LIST] [--fsync F] args
  // --bind when the host is not 127.0.0.1 (kvstore's default).
  // --id/--peers in raft mode only; LIST is peers_flag(). The secret is not on it (ps shows
  // argv to every user): it goes in the environment, see cluster_secret.h.
  std::vector<std::string> command(const NodeSpec& node) const;
  // Every node in file order as id=host:port, comma-separated, host as probe_host() gives it:
  // "1=127.0.0.1:9001,2=127.0.0.1:9002". An IPv6 host goes in bare ("2=::1:9002"): kvstore
  // splits each item at its last ':'.
  std::string peers_flag() const;
  // Where a client on this machine reaches the node (0.0.0.0 -> 127.0.0.1, :: -> ::1).
  static std::string probe_host(const NodeSpec& node);
};

// Parses text as the contents of the file at path. default_kvstore is used when the file has
// no "kvstore" field. Errors: InvalidArgument with one line naming path and field (or line and
// column for a JSON syntax error).
Result<ClusterConfig> parse_cluster_config(std::string_view text, const std::string& path,
                                           const std::string& default_kvstore);
// Reads and parses the file. A missing/unreadable file is an IOError naming it.
Result<ClusterConfig> load_cluster_config(const std::string& path,
                                          const std::string& default_kvstore);

// What changed between two configs, by node id (live reload).
struct ConfigDiff {
  std::vector<int> added, removed, changed;  // changed: command line or host differ
  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
  // "+node4 -node3 ~node2", or "no node changes".
  std::string summary() const;
};
// restart_all: every node kept counts as changed (the cluster secret changed, and nodes only
// read it at start).
ConfigDiff diff_configs(const ClusterConfig& before, const ClusterConfig& after,
                        bool restart_all = false);

// "node<id>".
std::string node_name(int id);

// <directory of config_path>/.kvcluster, from the path alone: the commands that talk to a
// running supervisor must work even while the file holds a bad edit.
std::string state_dir_for(const std::string& config_path);
// The absolute directory holding config_path.
std::string config_dir(const std::string& config_path);

}  // namespace kv::cluster
