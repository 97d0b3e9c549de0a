// FaultInjector: carries out a fault schedule (faults.h) against a running cluster on its own
// thread, one fault at a time: a kill is a SIGKILL (kvcluster restarts the node), a pause is
// SIGSTOP, a wait, then SIGCONT; a membership fault adds a new node and then removes another
// one (membership_fault.h). Every fault, applied or skipped, is logged as a FaultEvent and
// printed as it happens. A stop request ends the schedule early and heals a pause at once;
// a membership change under way is finished (within its deadline) unless *abort is set.
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
#include "chaos/membership_fault.h"

namespace kv::chaos {

struct FaultEvent {
  FaultKind kind = FaultKind::kKillLeader;
  int node = 0;  // 0: skipped (no victim could be found or signalled); membership: the added node
  pid_t pid = 0;
  int64_t start_ns = 0;  // since the run's epoch: when the signal was sent or the change began
  int64_t end_ns = 0;    // pauses: when SIGCONT was sent; membership: the last change done;
                         // kills: start_ns
  bool applied = false;  // membership: some change was done
  std::string note;      // "leader, term 4" or why it was skipped
  std::vector<MembershipChange> changes;  // membership: the add, then the removal (if any)
};

// The node a membership fault removes: one of the live nodes but the one just added, picked
// by the fault's seed. 0 when there is none, or when removing one would leave fewer than
// min_voters live nodes. Pure.
int pick_removal(const std::vector<int>& live, int added, size_t min_voters, uint64_t seed);

class FaultInjector {
 public:
  using Clock = std::chrono::steady_clock;

  // min_voters: a membership fault never leaves fewer live nodes than this (the cluster's
  // starting size). *abort (may be null) cuts a membership change short (Ctrl-C).
  FaultInjector(ClusterDriver* driver, std::vector<ScheduledFault> plan, Clock::time_point epoch,
                bool verbose, size_t min_voters, const std::atomic<bool>* abort);

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
  void inject_membership(const ScheduledFault& fault);
  // The victim: the leader, or a node picked by the fault's seed. 0 when none was found.
  int pick_victim(const ScheduledFault& fault, std::string* note);
  int64_t now_ns() const;
  void print(const FaultEvent& e, const std::string& what) const;
  void print(const MembershipChange& c) const;

  ClusterDriver* driver_;
  std::vector<ScheduledFault> plan_;
  Clock::time_point epoch_;
  bool verbose_;
  size_t min_voters_;
  MembershipFault membership_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;  // guarded by mu_
  std::vector<FaultEvent> events_;
};

}  // namespace kv::chaos
