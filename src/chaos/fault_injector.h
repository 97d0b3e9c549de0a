// FaultInjector: carries out a fault schedule (faults.h) against a running cluster on its own
// thread, one fault at a time: a kill is a SIGKILL (kvcluster restarts the node), a pause is
// SIGSTOP, a wait, then SIGCONT. Every fault, applied or skipped, is logged as a FaultEvent
// and printed as it happens. A stop request ends the schedule early and heals a pause at once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "chaos/cluster_driver.h"
#include "chaos/faults.h"

namespace kv::chaos {

struct FaultEvent {
  FaultKind kind = FaultKind::kKillLeader;
  int node = 0;  // 0: skipped (no victim could be found or signalled)
  pid_t pid = 0;
  int64_t start_ns = 0;  // since the run's epoch: when the signal was sent
  int64_t end_ns = 0;    // pauses: when SIGCONT was sent; kills: start_ns
  bool applied = false;
  std::string note;  // "leader, term 4" or why it was skipped
};

class FaultInjector {
 public:
  using Clock = std::chrono::steady_clock;

  FaultInjector(ClusterDriver* driver, std::vector<ScheduledFault> plan, Clock::time_point epoch,
                bool verbose);

  // Runs the schedule; returns when it is done or stop() was called.
  void run();
  // Thread-safe; wakes run() up.
  void stop();

  // REQUIRES: run() has returned.
  const std::vector<FaultEvent>& events() const { return events_; }

 private:
  // Sleeps until t; false if stopped first.
  bool sleep_until(Clock::time_point t);
  void inject(const ScheduledFault& fault);
  // The victim: the leader, or a node picked by the fault's seed. 0 when none was found.
  int pick_victim(const ScheduledFault& fault, std::string* note);
  int64_t now_ns() const;
  void print(const FaultEvent& e, const std::string& what) const;

  ClusterDriver* driver_;
  std::vector<ScheduledFault> plan_;
  Clock::time_point epoch_;
  bool verbose_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;  // guarded by mu_
  std::vector<FaultEvent> events_;
};

}  // namespace kv::chaos
