// ChangeRunner: performs the membership operations of raft mode (membership_plan.h: add,
// remove, restart, rolling restart) one at a time, in the order queued, on the supervisor's
// event loop. It never blocks the loop: every question to a node is a HealthProbe (INFO) or
// an AdminCall (AUTH + RAFT ...), every wait a timer that polls a condition until a deadline,
// so output multiplexing and crash restarts go on meanwhile. Each step is reported in the
// output stream ("node4: caught up (lag 0)"). Processes are started and stopped through the
// NodeHost (the Supervisor). Single-threaded (the loop's thread).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cluster/admin_call.h"
#include "cluster/health_probe.h"
#include "cluster/membership_plan.h"
#include "cluster/output_mux.h"
#include "cluster/raft_view.h"
#include "net/event_loop.h"

namespace kv::cluster {

struct NodeAddress {
  std::string host;  // as a client on this machine reaches it (ClusterConfig::probe_host)
  uint16_t port = 0;
  // "host:port", what RAFT ADDLEARNER and --peers carry (an IPv6 host bare, split at the last
  // ':' like --peers).
  std::string raft_addr() const { return host + ":" + std::to_string(port); }
};

// What the runner asks of whoever runs the node processes (the Supervisor).
class NodeHost {
 public:
  virtual ~NodeHost() = default;
  // Where node id listens now: its running process's address, else the file's; known for the
  // nodes of the running file and those still being removed.
  virtual std::optional<NodeAddress> address_of(int id) const = 0;
  // Where the running file says node id listens (what the group is told when it is added).
  virtual std::optional<NodeAddress> file_address(int id) const = 0;
  // Every node worth asking about the group, file order first.
  virtual std::vector<int> known_ids() const = 0;
  // This machine's nodes of the running file, in file order.
  virtual std::vector<int> local_ids() const = 0;
  // The pid of local node id while its process runs and answers PING, else -1.
  virtual pid_t answering_pid(int id) const = 0;
  // Local node id has a process, in any state.
  virtual bool runs_process(int id) const = 0;
  // Local node id runs as the file describes it, with --join (kept for its restarts): started
  // if it does not run, restarted if it runs otherwise, left alone if it already does.
  virtual void start_joining(int id) = 0;
  // SIGTERM to local node id; the node is forgotten once it exited.
  virtual void stop_removed(int id) = 0;
  // Stops local node id gracefully and starts it again as the file now describes it.
  virtual void restart_member(int id) = 0;
  // What an operation is doing to node id, shown by status ("joining", "leaving",
  // "restarting"); "" clears it.
  virtual void set_change(int id, const std::string& what) = 0;
  // SIGTERM -> SIGKILL delay: waits for a stop are sized on it.
  virtual std::chrono::milliseconds stop_timeout() const = 0;
};

class ChangeRunner {
 public:
  using Clock = net::EventLoop::Clock;
  using Finished = std::function<void(bool ok, const std::string& message)>;

  struct Settings {
    std::chrono::milliseconds poll{50};                   // between two looks at a condition
    std::chrono::milliseconds info_timeout{1000};         // one INFO
    std::chrono::milliseconds call_timeout{7000};         // one RAFT command (kvstore: within 5 s)
    std::chrono::milliseconds command_deadline{30000};    // retrying one RAFT command
    std::chrono::milliseconds leader_deadline{10000};     // a leader known / a new one elected
    std::chrono::milliseconds start_deadline{30000};      // a started node answers PING
    std::chrono::milliseconds catch_up_deadline{120000};  // a new or restarted node caught up
    uint64_t max_lag = 64;  // caught up: at most this many entries behind the leader
  };

  // secret: the cluster secret, for AUTH. host must outlive the runner.
  ChangeRunner(net::EventLoop* loop, OutputMux* mux, NodeHost* host, std::string secret,
               Settings settings);
  ~ChangeRunner();
  ChangeRunner(const ChangeRunner&) = delete;
  ChangeRunner& operator=(const ChangeRunner&) = delete;

  void set_secret(std::string secret) { secret_ = std::move(secret); }
  // Queues op behind the ones queued before; it starts from the loop, never from here.
  // finished (may be empty) runs once when it ends, done or failed (failures are also
  // reported in the stream).
  void enqueue(ClusterOp op, Finished finished = nullptr);
  // An operation of this kind on node id is queued or running.
  bool pending(ClusterOp::Kind kind, int id) const;
  bool rolling_restart_pending() const { return pending(ClusterOp::Kind::kRollingRestart, 0); }
  // Drops the running and the queued operations (reported; finished runs with ok = false).
  void cancel_all(const std::string& why);
  // For status: ["add node4 (added to cluster.json): waiting for it to catch up",
  // "queued: remove node3 (...)"]. Empty when idle.
  nlohmann::json describe() const;

 private:
  using Done = std::function<void(bool ok, std::string message)>;
  using ViewDone = std::function<void(std::optional<RaftView>)>;
  enum class Verdict { kDone, kRetry, kFail };
  using Judge = std::function<Verdict(const protocol::Reply&)>;
  struct Pending {
    ClusterOp op;
    Finished finished;
  };

  void kick();
  void start_next();
  void finish_op(bool ok, const std::string& message);
  void cancel_io();
  void step(std::string what) { step_ = std::move(what); }
  void event(const std::string& text, int id);

  // The operations. Each ends by calling done exactly once; a failure's message says what
  // happened and what is left as it was.
  void run_add(int id, Done done);
  void add_raft_member(int id, NodeAddress addr, Done done);
  void promote_when_caught_up(int id, uint64_t min_applied, Done done);
  // If node id leads: RAFT TRANSFER to the most caught-up voter, wait for the new leader and
  // for every node to follow it. done(false, why) when it could not.
  void hand_over_if_leading(int id, std::function<void(bool, std::string)> done);
  void run_remove(int id, Done done);
  void remove_from_group(int id, Done done);
  void stop_removed_process(int id, Done done);
  void run_restart(int id, const std::string& why, Done done);
  void restart_process(int id, const std::string& why, Done done);
  void catch_up_after_restart(int id, uint64_t min_applied, Done done);
  void run_rolling_restart(Done done);
  void restart_next_in_roll(Done done);

  // Primitives: one in flight at a time (one call, one probe, one timer slot).
  void after(std::chrono::milliseconds delay, std::function<void()> fn);
  // Polls pred (synchronous) every settings_.poll until true (done(true)) or the deadline.
  void wait_until(Clock::time_point deadline, std::function<bool()> pred,
                  std::function<void(bool)> done);
  // INFO of node id (nullopt: no answer).
  void ask_info(int id, ViewDone done);
  // One pass over the nodes (the last known leader first, then wherever they point) until
  // one says it leads; nullopt if none did.
  void find_leader(ViewDone done);
  // find_leader again and again until accept(leader view) or the deadline (then nullopt).
  void wait_for_leader(Clock::time_point deadline, std::function<bool(const RaftView&)> accept,
                       ViewDone done);
  // Every known node but `except` that answers INFO names `leader` as its leader, or the
  // deadline passed (done(false)). After leadership moved: nobody forwards to the old
  // leader any more when it is stopped.
  void wait_all_follow(int leader, int except, Clock::time_point deadline,
                       std::function<void(bool)> done);
  void check_all_follow(std::shared_ptr<std::vector<int>> ids, size_t next, int leader,
                        std::function<void(bool)> done);
  // Node id caught up: the leader sees it reachable, link up, lag <= max_lag; and the node
  // itself follows that leader and has applied at least min_applied (what was committed
  // before it restarted or joined: so a leader's stale view of the old process cannot pass
  // for it) and to within max_lag of the leader's commit index. done(ok, lag).
  void check_caught_up(int id, uint64_t min_applied, std::function<void(bool, uint64_t)> done);
  void wait_caught_up(int id, uint64_t min_applied, Clock::time_point deadline,
                      std::function<void(bool, uint64_t)> done);
  // Sends argv (AUTH first) through the leader, or any node (they forward), until judge says
  // done or fail, or the deadline passes. Connection failures, -CLUSTERDOWN and -TRYAGAIN
  // are retried (another node after a connection failure). done(ok, last reply or error).
  void raft_command(std::vector<std::string> argv, Clock::time_point deadline, Judge judge,
                    std::function<void(bool, std::string)> done);
  void send_command(std::shared_ptr<std::vector<std::string>> argv, Clock::time_point deadline,
                    Judge judge, std::function<void(bool, std::string)> done, size_t target,
                    std::string last);
  std::vector<int> candidates() const;  // last known leader first, then the known nodes
  Clock::time_point in(std::chrono::milliseconds d) const { return Clock::now() + d; }

  net::EventLoop* loop_;
  OutputMux* mux_;
  NodeHost* host_;
  std::string secret_;  // never printed
  Settings settings_;
  std::deque<Pending> queue_;
  std::optional<Pending> current_;  // the running operation
  std::string step_;                // what it is doing now, for describe()
  Clock::time_point op_started_;
  uint64_t kick_timer_ = 0;
  uint64_t timer_ = 0;
  std::unique_ptr<AdminCall> call_;
  std::unique_ptr<HealthProbe> probe_;
  int last_leader_ = 0;          // the node that last said it leads
  std::vector<int> roll_order_;  // rolling restart: the nodes, in order
  size_t roll_next_ = 0;         // ... and the next one to restart
};

}  // namespace kv::cluster
