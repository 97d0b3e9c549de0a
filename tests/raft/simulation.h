// Simulation: N RaftNodes driven by one seeded RNG over a simulated network that drops,
// delays, duplicates and reorders messages, partitions and heals, and crashes and restarts
// nodes. Each node's host models an fsync'd hard state and log: a restart keeps only what
// was synced. An InvariantChecker sees every step; after the chaos the network heals and
// the cluster must elect a leader and commit again (liveness). Deterministic per seed.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <queue>
#include <random>
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
};

class Simulation {
 public:
  Simulation(uint64_t seed, SimOptions options);
  ~Simulation();
  SimResult run();

 private:
  struct Host;
  struct InFlight {
    int deliver_at;
    uint64_t order;
    Message message;
    bool operator>(const InFlight& other) const {
      return deliver_at != other.deliver_at ? deliver_at > other.deliver_at : order > other.order;
    }
  };

  bool step(bool chaos);
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
  InvariantChecker checker_;
  SimResult result_;
  std::deque<std::string> trace_;
};

}  // namespace kv::raft::testing
