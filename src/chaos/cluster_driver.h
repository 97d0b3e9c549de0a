// ClusterDriver: one throwaway kvcluster for a chaos run. It writes cluster.json into a temp
// dir (free ports picked at run time), starts `kvcluster -c FILE up` as a child in its own
// process group, waits until every node answers and one leads, finds the leader, and sends
// signals to nodes. Signals go only to kvstore pids that kvcluster reports for this cluster
// and whose parent is the kvcluster this driver started (checked in /proc right before).
// shutdown() (also run by the destructor) stops everything it started, by pid.
// Thread-safe: the fault thread and the main thread share one driver.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "chaos/process_util.h"
#include "common/status.h"

namespace kv::chaos {

struct ClusterSpec {
  std::string mode = "raft";  // "raft" or "independent"
  int nodes = 3;
  bool unsafe_local_reads = false;  // --unsafe-local-reads on every node (breaks reads on purpose)
  std::string kvcluster;            // binary paths, absolute
  std::string kvstore;
};

struct NodeEndpoint {
  int id = 0;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
};

// The cluster.json for spec and ports (node i gets ports[i], id i + 1, data dir "node<id>"):
// fsync always, quick restarts that never give up, frequent probes, a short stop timeout.
// REQUIRES: ports.size() == spec.nodes.
nlohmann::json make_cluster_json(const ClusterSpec& spec, const std::vector<uint16_t>& ports);

// "field:value" lines of an INFO reply ("# Section" lines and blanks skipped). Pure.
std::map<std::string, std::string> parse_info(const std::string& text);

// One node as `kvcluster status --json` shows it.
struct SupervisedNode {
  pid_t pid = 0;  // 0: none now (backoff, stopped, failed)
  std::string state;
  int64_t restarts = 0;
  std::string last_exit;  // "exit code 1", "signal KILL", ... ("" if it never exited)
};
// The nodes of `kvcluster status --json` output, by id. InvalidArgument when the text is not
// such a document. Pure.
Result<std::map<int, SupervisedNode>> parse_status(const std::string& json_text);

// What one node says about itself in INFO.
struct NodeView {
  int id = 0;
  std::string role;  // "leader", "follower", "candidate", ...
  int64_t term = 0;
  int64_t leader_id = 0;
  pid_t process_id = 0;
};

class ClusterDriver {
 public:
  using Clock = std::chrono::steady_clock;

  // Creates the temp dir (under $TMPDIR or /tmp), writes cluster.json and starts kvcluster.
  static Result<std::unique_ptr<ClusterDriver>> start(const ClusterSpec& spec);
  ~ClusterDriver();
  ClusterDriver(const ClusterDriver&) = delete;
  ClusterDriver& operator=(const ClusterDriver&) = delete;

  // Waits until every node answers PING, one reports role:leader and kvcluster reports a pid
  // for every node. Polls every 50 ms; fails at the deadline, when kvcluster exits, when a
  // node keeps exiting (3 restarts while waiting), or when *stop becomes true. The error
  // names what was still missing.
  Status wait_ready(Clock::time_point deadline, const std::atomic<bool>* stop);

  // INFO from one node (short timeout); IOError when it does not answer.
  Result<NodeView> view(int id, std::chrono::milliseconds timeout) const;
  // The node that reports role:leader with the highest term, asking every node once.
  // NotFound when none does.
  Result<NodeView> find_leader(std::chrono::milliseconds per_node_timeout) const;
  // As find_leader, retried every 50 ms until the deadline.
  Result<NodeView> wait_for_leader(Clock::time_point deadline) const;

  // Sends sig to node id's kvstore, after checking that kvcluster reports that pid for the
  // node and that its parent is our kvcluster. Returns the pid signalled.
  Result<pid_t> signal_node(int id, int sig);
  // SIGSTOP / SIGCONT with bookkeeping: a paused node is resumed by resume_all and shutdown.
  Result<pid_t> pause_node(int id);
  Status resume_node(int id);
  void resume_all();

  // Stops kvcluster (SIGTERM, then SIGKILL after a grace period), then SIGKILLs any kvstore
  // pid this run saw that still runs. Idempotent. Removes the temp dir unless keep_dir.
  void shutdown(bool keep_dir);
  // Whether kvcluster still runs (reaps it if not); *why says how it ended.
  bool kvcluster_running(std::string* why = nullptr);
  // The last lines of kvcluster's output (for setup errors).
  std::string output_tail(size_t max_lines) const;

  const std::vector<NodeEndpoint>& nodes() const { return nodes_; }
  const NodeEndpoint* endpoint(int id) const;
  const std::string& dir() const { return dir_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& output_path() const { return output_path_; }
  pid_t kvcluster_pid() const { return kvcluster_pid_; }

 private:
  ClusterDriver(ClusterSpec spec, std::string dir, std::vector<NodeEndpoint> nodes);

  // `kvcluster status --json`, parsed; remembers every pid seen (for shutdown).
  Result<std::map<int, SupervisedNode>> supervised();
  // REQUIRES: all nodes answered. Empty when kvcluster reports the pids INFO reported.
  std::vector<std::string> pid_problems(const std::map<int, pid_t>& reported);
  // The kvstore kvcluster reports for node id, required to be our kvcluster's child.
  Result<ProcessIdentity> node_process(int id);

  const ClusterSpec spec_;
  const std::string dir_;
  const std::string config_path_;
  const std::string output_path_;
  const std::vector<NodeEndpoint> nodes_;
  pid_t kvcluster_pid_ = -1;

  mutable std::mutex mu_;
  bool kvcluster_reaped_ = false;  // guarded by mu_
  bool shut_down_ = false;         // guarded by mu_
  // Every kvstore pid seen (with its /proc start time), so shutdown can make sure it is gone.
  std::map<pid_t, uint64_t> seen_pids_;    // guarded by mu_
  std::map<int, ProcessIdentity> paused_;  // node id -> the process stopped; guarded by mu_
};

}  // namespace kv::chaos
