// Supervisor: keeps the nodes of one cluster.json running. It owns one ManagedNode per
// configured node on this machine (HostLocality) and drives each through the NodeState
// machine: spawns processes, reads
// their output into the OutputMux, probes them (PING/INFO) on the event loop, reaps them on
// SIGCHLD (waitpid WNOHANG, never blocking), restarts them under the RestartPolicy, applies
// reloaded configs by node id, and stops everything on request (SIGTERM to each process
// group, SIGKILL after the stop timeout or at a second request). Nodes on other machines are
// only probed (RemoteNodes); a reload that moves a node between machines stops or starts it.
// In raft mode a reload changes the membership live, one node at a time (ChangeRunner:
// membership_plan.h says what a reload turns into), and a rolling restart restarts every node
// without ever leaving less than a majority up; the Supervisor is the runner's NodeHost.
// Signals, the control socket and the config watch are wired by up_command; they call in
// here. Single-threaded: every method runs on the loop's thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "cluster/change_runner.h"
#include "cluster/cluster_config.h"
#include "cluster/health_probe.h"
#include "cluster/host_locality.h"
#include "cluster/node_state.h"
#include "cluster/output_mux.h"
#include "cluster/pipe_reader.h"
#include "cluster/remote_nodes.h"
#include "cluster/restart_policy.h"
#include "net/event_loop.h"

namespace kv::cluster {

class Supervisor : private NodeHost {
 public:
  using Clock = net::EventLoop::Clock;

  // default_kvstore: the node binary when cluster.json names none (used again on reload).
  // cluster_secret: what raft-mode nodes get in KV_CLUSTER_SECRET (cluster_secret(config));
  // unused in independent mode. locality: which nodes are this machine's to run.
  Supervisor(net::EventLoop* loop, OutputMux* mux, ClusterConfig config,
             std::string default_kvstore, std::string cluster_secret, HostLocality locality);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts every configured node of this machine and starts probing the others.
  void start_all();
  // First call: SIGTERM every node, SIGKILL those still alive after the stop timeout.
  // Later calls: SIGKILL at once. on_all_stopped runs (from the loop) once no node process
  // is left.
  void stop_all(std::function<void()> on_all_stopped);
  bool stopping_all() const { return stopping_all_; }

  // Re-reads the config file and applies the difference (why: "file changed", "SIGHUP", ...).
  // An invalid file changes nothing and is reported in the stream. Returns the summary
  // ("reloaded: +node4 ~node2") or the error. quiet_if_unchanged: no event when nothing moved.
  // Independent mode: added nodes start, removed ones stop, changed ones restart, at once.
  // Raft mode (before and after, same secret): the changes are queued as membership
  // operations (plan_reload) that run one at a time after this returns; nodes a failed
  // operation left behind (a learner not promoted, a member not removed) are queued again.
  // A changed secret or mode restarts every node at once, as nodes read both only at start.
  Result<std::string> reload(const std::string& why, bool quiet_if_unchanged);
  // Restarts one node (also re-arms a failed one). Accepts "2" or "node2".
  Result<std::string> restart_node(const std::string& which);
  // Raft mode: queues a rolling restart of this machine's nodes (ChangeRunner); done runs
  // once it ended (ok, or why it stopped). Refused (done not called) outside raft mode, while
  // stopping, or when one is already queued.
  Status rolling_restart(ChangeRunner::Finished done);
  // Reaps every exited child (call on SIGCHLD).
  void reap_children();

  // {"mode":"raft","nodes":[{id, name, host, port, pid, state, answering, uptime_s, restarts,
  //  last_exit, info, ...}],"supervisor":{...}}, nodes in file order (state "remote" for
  // nodes on other machines), then nodes a reload removed that are still stopping.
  // `answering`: running and answering probes (remote: answered, no probe.failures misses).
  nlohmann::json status_json() const;
  const ClusterConfig& config() const { return config_; }

 private:
  struct ManagedNode {
    explicit ManagedNode(const NodeSpec& s, const RestartSettings& r) : spec(s), policy(r) {}
    NodeSpec spec;
    NodeState state = NodeState::kStopped;
    RestartPolicy policy;
    pid_t pid = -1;                // set iff has_process(state)
    Clock::time_point started_at;  // of the current process
    int restarts = 0;              // automatic restarts performed (never reset)
    std::optional<int> last_exit;  // waitpid status of the last exit
    std::string failed_reason;
    std::chrono::milliseconds next_delay{0};  // backoff before the scheduled restart
    std::unique_ptr<PipeReader> out, err;
    std::unique_ptr<HealthProbe> probe;
    uint64_t probe_timer = 0, backoff_timer = 0, stop_timer = 0;
    int probe_failures = 0;  // consecutive
    int probes_while_starting = 0;
    std::string probe_error;
    std::map<std::string, std::string> info;  // last INFO answer of this process
    std::deque<std::string> last_lines;       // tail of its output, for the `failed` report
    bool ready_once = false;                  // answered PING since this process started
    bool removing = false;                    // dropped from the config: erase once stopped
    bool start_after_stop = false;            // restart requested: start again once stopped
    std::optional<NodeSpec> next_spec;        // the spec to start with after that stop
    bool join = false;   // added live: started with --join (every start, until kvcluster exits)
    std::string change;  // what a membership operation does to it: "joining", "leaving", ...
  };

  void fire(ManagedNode& n, NodeEvent event);
  void perform(ManagedNode& n, NodeAction action);
  void spawn(ManagedNode& n);
  void on_exit(ManagedNode& n, int wait_status);
  void after_stopped(int id);
  void schedule_probe(ManagedNode& n, std::chrono::milliseconds delay);
  void start_probe(ManagedNode& n);
  void on_probe(ManagedNode& n, ProbeResult result);
  void on_output(ManagedNode& n, StreamKind kind, std::string_view line);
  void cancel_timer(uint64_t* id);
  void check_all_stopped();
  void add_node(const NodeSpec& spec);
  void start_new_node(const NodeSpec& spec);
  // Stops nodes no longer ours (removed, or moved to another machine), restarts changed ones,
  // starts new ones. local: the ids of config_ to run here.
  void apply_local_changes(const ConfigDiff& diff, const std::set<int>& local);
  // Raft mode: queues the membership operations from before to config_ (and retries of
  // earlier ones that failed); starts and stops nothing itself.
  // Returns what was queued: "add node4", ...
  std::vector<std::string> queue_membership_changes(const ClusterConfig& before,
                                                    const std::set<int>& local_before,
                                                    const std::set<int>& local);

  // NodeHost (change_runner.h), for the ChangeRunner.
  std::optional<NodeAddress> address_of(int id) const override;
  std::optional<NodeAddress> file_address(int id) const override;
  std::vector<int> known_ids() const override;
  std::vector<int> local_ids() const override;
  pid_t answering_pid(int id) const override;
  bool runs_process(int id) const override;
  void start_joining(int id) override;
  void stop_removed(int id) override;
  void restart_member(int id) override;
  void set_change(int id, const std::string& what) override;
  std::chrono::milliseconds stop_timeout() const override { return config_.stop_timeout; }

  bool is_remote(int id) const { return remotes_.contains(id); }
  ManagedNode* find_node(const std::string& which);
  nlohmann::json node_json(const ManagedNode& n, Clock::time_point now) const;

  net::EventLoop* loop_;
  OutputMux* mux_;
  ClusterConfig config_;
  std::string default_kvstore_;
  std::string cluster_secret_;  // never printed; what the running raft nodes were given
  HostLocality locality_;
  std::map<int, std::unique_ptr<ManagedNode>> nodes_;  // by id; this machine's nodes only
  RemoteNodes remotes_;                                // the others: probed, never run
  std::unique_ptr<ChangeRunner> changes_;  // raft mode: membership operations, one at a time
  bool stopping_all_ = false;
  std::function<void()> on_all_stopped_;
  Clock::time_point started_at_;
};

}  // namespace kv::cluster
