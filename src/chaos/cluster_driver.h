// ClusterDriver: one throwaway kvcluster for a chaos run. It writes cluster.json into a temp
// dir (free ports picked at run time), starts `kvcluster -c FILE up` as a child in its own
// process group, waits until every node answers and one leads, finds the leader, sends
// signals to nodes, and edits cluster.json for membership faults (membership_fault.h).
// Signals go only to kvstore pids that kvcluster reports for this cluster and whose parent is
// the kvcluster this driver started (checked in /proc right before). shutdown() (also run by
// the destructor) stops everything it started, by pid.
// Thread-safe: the fault thread, the client threads and the main thread share one driver.
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
#include <set>
#include <string>
#include <vector>

#include "chaos/cluster_json.h"
#include "chaos/node_set.h"
#include "chaos/process_util.h"
#include "common/status.h"

namespace kv::chaos {

// "field:value" lines of an INFO reply ("# Section" lines and blanks skipped). Pure.
std::map<std::string, std::string> parse_info(const std::string& text);

// One node as `kvcluster status --json` shows it.
struct SupervisedNode {
  pid_t pid = 0;  // 0: none now (backoff, stopped, failed)
  std::string state;
  int64_t restarts = 0;
  std::string last_exit;  // "exit code 1", "signal KILL", ... ("" if it never exited)
};
// The nodes of `kvcluster status --json` output, by id (nodes still stopping after a removal
// included). *changes_in_progress, when given, gets how many membership operations kvcluster
// is running or has queued. InvalidArgument when the text is not such a document. Pure.
Result<std::map<int, SupervisedNode>> parse_status(const std::string& json_text,
                                                   size_t* changes_in_progress = nullptr);

// "1,2,3" -> {1, 2, 3}; "" -> {}; entries that are not numbers are skipped. Pure.
std::vector<int> parse_id_list(const std::string& text);

// What one node says about itself in INFO.
struct NodeView {
  int id = 0;
  std::string role;  // "leader", "follower", "candidate", ...
  int64_t term = 0;
  int64_t leader_id = 0;
  pid_t process_id = 0;
  std::vector<int> voters;  // the configuration this node has (INFO raft voters/learners)
  std::vector<int> learners;
  bool is_voter(int node) const;
  bool is_member(int node) const;  // voter or learner
};

class ClusterDriver {
 public:
  using Clock = std::chrono::steady_clock;

  // Creates the temp dir (under $TMPDIR or /tmp), writes cluster.json and starts kvcluster.
  static Result<std::unique_ptr<ClusterDriver>> start(const ClusterSpec& spec);
  ~ClusterDriver();
  ClusterDriver(const ClusterDriver&) = delete;
  ClusterDriver& operator=(const ClusterDriver&) = delete;

  // Waits until every live node answers PING, one reports role:leader and kvcluster reports
  // a pid for every live node. Polls every 50 ms; fails at the deadline, when kvcluster
  // exits, when a node keeps exiting (3 restarts while waiting), or when *stop becomes true.
  // The error names what was still missing.
  Status wait_ready(Clock::time_point deadline, const std::atomic<bool>* stop);

  // INFO from one node (short timeout); IOError when it does not answer.
  Result<NodeView> view(int id, std::chrono::milliseconds timeout) const;
  // The node that reports role:leader with the highest term, asking every known node once.
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
  // `kvcluster status --json`, parsed; remembers every pid seen (for shutdown).
  Result<std::map<int, SupervisedNode>> supervised(size_t* changes_in_progress = nullptr);
  // `kvcluster reload`: kvcluster applies cluster.json now (and retries a membership change
  // that failed).
  Status reload();

  // Membership faults. A node's id, port and data dir are never used twice in a run.
  // A new node: the next unused id, a free port never used in this run.
  Result<NodeEndpoint> new_endpoint();
  // Adds node to cluster.json (kvcluster starts it and adds it to the group) and to the
  // known nodes; not to the live ones yet.
  Status add_to_file(const NodeEndpoint& node);
  // Takes node id out of the live nodes (clients and faults stop picking it), then out of
  // cluster.json (kvcluster removes it from the group, then stops it). It stays known until
  // forget() (it may still lead meanwhile).
  Status remove_from_file(int id);
  // A node that joined the group: clients and faults may pick it.
  void make_live(int id);
  // A removed node that is gone: no longer asked about the leader.
  void forget(int id);

  // Whether kvcluster still runs (reaps it if not); *why says how it ended.
  bool kvcluster_running(std::string* why = nullptr);
  // The last lines of kvcluster's output (for setup errors).
  std::string output_tail(size_t max_lines) const;

  // The nodes clients and faults pick: members of the group. Changes during the run.
  const NodeSet& live_nodes() const { return live_; }
  std::vector<NodeEndpoint> nodes() const { return live_.snapshot(); }
  // Every node worth asking about the leader: the nodes of cluster.json and the ones still
  // being removed.
  std::vector<NodeEndpoint> known_nodes() const { return known_.snapshot(); }
  std::optional<NodeEndpoint> endpoint(int id) const { return known_.find(id); }
  const std::string& dir() const { return dir_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& output_path() const { return output_path_; }
  pid_t kvcluster_pid() const { return kvcluster_pid_; }

 private:
  ClusterDriver(ClusterSpec spec, std::string dir, const std::vector<NodeEndpoint>& nodes,
                nlohmann::json config);

  // REQUIRES: all nodes answered. Empty when kvcluster reports the pids INFO reported.
  std::vector<std::string> pid_problems(const std::vector<NodeEndpoint>& live,
                                        const std::map<int, pid_t>& reported);
  // The kvstore kvcluster reports for node id, required to be our kvcluster's child.
  Result<ProcessIdentity> node_process(int id);

  const ClusterSpec spec_;
  const std::string dir_;
  const std::string config_path_;
  const std::string output_path_;
  pid_t kvcluster_pid_ = -1;
  NodeSet live_;   // see live_nodes()
  NodeSet known_;  // see known_nodes()

  mutable std::mutex mu_;
  bool kvcluster_reaped_ = false;  // guarded by mu_
  bool shut_down_ = false;         // guarded by mu_
  // Every kvstore pid seen (with its /proc start time), so shutdown can make sure it is gone.
  std::map<pid_t, uint64_t> seen_pids_;    // guarded by mu_
  std::map<int, ProcessIdentity> paused_;  // node id -> the process stopped; guarded by mu_
  // cluster.json as last written; edited by membership faults. Guarded by config_mu_, which
  // is held across an edit and its write (edits never interleave).
  std::mutex config_mu_;
  nlohmann::json config_;
  int next_id_ = 0;                // guarded by config_mu_: the id of the next new node
  std::set<uint16_t> used_ports_;  // guarded by config_mu_: every port given to a node
};

}  // namespace kv::chaos
