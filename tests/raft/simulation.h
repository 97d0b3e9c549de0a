// Simulation: N RaftNodes driven by one seeded RNG over a simulated network that drops,
// delays, duplicates and reorders messages, partitions and heals, and crashes and restarts
// nodes. Each node's host models an fsync'd hard state and log: a restart keeps only what
// was synced. Optionally an operator changes the membership meanwhile: adds fresh nodes as
// learners, promotes them, removes members (the leader too, directly or after a transfer),
// transfers leadership, and stops removed nodes some time later. An InvariantChecker sees
// every step; after the chaos the network heals and the cluster must elect a leader and
// commit again (liveness). Deterministic per seed.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "raft/invariant_checker.h"
#include "raft/raft_node.h"

namespace kv::raft::testing {

struct SimOptions {
  size_t nodes = 3;
  int chaos_steps = 3000;     // steps with faults; 4 steps make one tick
  int recovery_steps = 4000;  // budget to elect a leader and commit once healed
  // Network, per message.
  double drop_rate = 0.05;
  double duplicate_rate = 0.03;
  int max_delay = 6;              // steps
  double long_delay_rate = 0.02;  // a message overtaken by many others
  int long_delay = 80;
  // Faults, per step.
  double crash_rate = 0.002;
  double restart_rate = 0.01;
  double partition_rate = 0.002;
  double heal_rate = 0.01;
  // Host behaviour, per step and node.
  double sync_rate = 0.3;      // an fsync completes
  double compact_rate = 0.01;  // take a snapshot (if applied moved on)
  // Clients, per step.
  double propose_rate = 0.15;
  double read_rate = 0.05;
  // Operator, per step, while faults run (0: the membership never changes).
  double membership_rate = 0;  // asks the leader for a change (often refused: that is tested)
  double transfer_rate = 0;    // asks the leader to hand over to a random voter
  double retire_rate = 0.02;   // stops one node whose removal committed
  size_t min_voters = 3;       // removals keep at least this many voters
  size_t max_voters = 5;
  size_t max_running = 7;  // fresh nodes are added only while fewer are not retired
  Config config = default_config();
  bool trace = false;  // keep a trace of events (for the failure report)

  static Config default_config();
};

struct SimResult {
  std::string failure;  // empty: every invariant held and the cluster recovered
  int failed_at_step = -1;
  std::vector<std::string> trace;  // the events before the failure, when options.trace
  // Statistics.
  uint64_t committed = 0;
  uint64_t leaders = 0;
  uint64_t reads = 0;
  uint64_t snapshots_installed = 0;
  uint64_t crashes = 0;
  uint64_t messages = 0;
  uint64_t config_changes = 0;   // committed config entries
  uint64_t leader_removals = 0;  // committed removals of a node that was leading when asked
  uint64_t transfers = 0;        // transfers whose target became leader
};

class Simulation {
 public:
  Simulation(uint64_t seed, SimOptions options);
  ~Simulation();
  SimResult run();

 private:
  // One server: the RaftNode plus the host around it — its disk and its state machine.
  struct Host {
    NodeId id = kNoNode;
    int tick_phase = 0;
    int lives = 0;
    std::vector<NodeId> initial_voters;  // what it was first started with; none: a joiner
    std::unique_ptr<RaftNode> raft;      // null while crashed
    bool retired = false;                // stopped for good (its removal committed)

    // Disk, synced part: survives crashes.
    HardState hard_state;
    SnapshotMeta snapshot;  // with the configuration at its last index
    SnapshotData snapshot_data;
    std::vector<Entry> log;  // entries after snapshot.last_index
    Index stored_commit = 0;
    // Disk, written but not synced: lost by a crash.
    struct Write {
      std::optional<Index> truncate_from;
      std::vector<Entry> entries;
      Index commit;
    };
    std::vector<Write> unsynced;

    // Memory.
    AppliedCommands state;
    Index applied = 0;
    Index commit = 0;
    bool saw_marker = false;
    std::map<uint64_t, Index> reads;  // request id -> commit index known when it began
    int group = 0;                    // partition side

    bool up() const { return raft != nullptr; }
    Index last_stored() const { return snapshot.last_index + log.size(); }
  };
  struct InFlight {
    int deliver_at;
    uint64_t order;
    Message message;
    bool operator>(const InFlight& other) const {
      return deliver_at != other.deliver_at ? deliver_at > other.deliver_at : order > other.order;
    }
  };

  bool step(bool chaos);
  Host* host(NodeId id);  // null for ids never used
  void deliver_due();
  void tick_nodes();
  void client_actions();
  void host_actions();
  void inject_faults();
  void heal_all();
  void process_ready(Host& host);
  void apply_entries(Host& host, const std::vector<Entry>& entries);
  void install_snapshot(Host& host, const SnapshotInstall& install);
  void send(const Message& message, bool chaos);
  void sync(Host& host);
  void compact(Host& host);
  void crash(Host& host);
  void restart(Host& host);
  bool recovered();
  Host* leader();
  void check_membership(Host& host);
  // simulation_membership.cc: the operator.
  void membership_actions();
  void request_change(Host& leader);
  bool propose_change(Host& leader, ConfigChange change);
  void request_transfer(Host& leader, bool then_remove);
  void observe_config(const Entry& entry);
  void observe_leader(Host& leader);
  void retire_removed();
  bool expect(bool condition, const std::string& what);  // records a host-level failure
  bool chance(double p);
  int uniform(int n);
  void trace(const std::string& event);

  const uint64_t seed_;
  SimOptions options_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> network_;
  uint64_t send_order_ = 0;
  int now_ = 0;
  bool chaos_ = true;
  uint64_t next_command_ = 0;
  uint64_t next_read_ = 0;
  // Liveness: the command proposed after healing, once a leader exists.
  std::optional<std::pair<Index, Term>> marker_;
  // The operator's view: the last committed configuration (seen applied), nodes whose removal
  // committed, a leader to remove once another leads, transfers awaiting their election.
  Index config_index_ = 0;
  Membership config_;
  std::set<NodeId> removed_;
  std::set<NodeId> leader_removals_;  // removals asked of or for a leader
  NodeId remove_after_transfer_ = kNoNode;
  struct Transfer {
    NodeId to;
    Term term;  // the old leader's
    int since;  // step
  };
  std::optional<Transfer> transfer_;
  InvariantChecker checker_;
  SimResult result_;
  std::deque<std::string> trace_;
};

}  // namespace kv::raft::testing
