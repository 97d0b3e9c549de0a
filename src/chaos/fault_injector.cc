#include "chaos/fault_injector.h"

#include <fmt/core.h>
#include <signal.h>

#include <cstdio>
#include <random>

namespace kv::chaos {

using std::chrono::milliseconds;

int pick_removal(const std::vector<int>& live, int added, size_t min_voters, uint64_t seed) {
  std::vector<int> candidates;
  for (int id : live) {
    if (id != added) candidates.push_back(id);
  }
  if (candidates.empty() || live.size() <= min_voters) return 0;
  std::mt19937_64 rng(seed);
  return candidates[std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(rng)];
}

FaultInjector::FaultInjector(ClusterDriver* driver, std::vector<ScheduledFault> plan,
                             Clock::time_point epoch, bool verbose, size_t min_voters,
                             const std::atomic<bool>* abort)
    : driver_(driver),
      plan_(std::move(plan)),
      epoch_(epoch),
      verbose_(verbose),
      min_voters_(min_voters),
      membership_(driver, epoch, MembershipFault::Settings{}, abort) {}

int64_t FaultInjector::now_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - epoch_).count();
}

void FaultInjector::stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  cv_.notify_all();
}

bool FaultInjector::sleep_until(Clock::time_point t) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_until(lock, t, [this] { return stopped_; });
}

void FaultInjector::run() {
  for (const ScheduledFault& fault : plan_) {
    if (!sleep_until(epoch_ + fault.at)) return;
    inject(fault);
  }
}

int FaultInjector::pick_victim(const ScheduledFault& fault, std::string* note) {
  if (targets_leader(fault.kind)) {
    // The cluster may still be electing after the previous fault: give it a moment.
    auto leader = driver_->wait_for_leader(Clock::now() + milliseconds(3000));
    if (!leader.ok()) {
      *note = "skipped: " + leader.status().message();
      return 0;
    }
    *note = fmt::format("leader, term {}", leader->term);
    return leader->id;
  }
  const std::vector<NodeEndpoint> nodes = driver_->nodes();
  if (nodes.empty()) {
    *note = "skipped: no live node";
    return 0;
  }
  std::mt19937_64 rng(fault.victim_seed);
  const int id = nodes[std::uniform_int_distribution<size_t>(0, nodes.size() - 1)(rng)].id;
  *note = "random node";
  return id;
}

void FaultInjector::inject_membership(const ScheduledFault& fault) {
  FaultEvent e;
  e.kind = fault.kind;
  e.start_ns = now_ns();
  const MembershipChange add = membership_.add_node();
  print(add);
  e.changes.push_back(add);
  e.node = add.node;
  if (add.done) {
    const int victim =
        pick_removal(driver_->live_nodes().ids(), add.node, min_voters_, fault.victim_seed);
    if (victim != 0) {
      const MembershipChange removal = membership_.remove_node(victim);
      print(removal);
      e.changes.push_back(removal);
    }
  }
  for (const MembershipChange& c : e.changes) e.applied = e.applied || c.done;
  e.end_ns = now_ns();
  events_.push_back(e);
}

void FaultInjector::inject(const ScheduledFault& fault) {
  if (fault.kind == FaultKind::kMembership) return inject_membership(fault);
  FaultEvent e;
  e.kind = fault.kind;
  std::string note;
  const int victim = pick_victim(fault, &note);
  e.note = note;
  if (victim != 0) {
    auto pid =
        is_pause(fault.kind) ? driver_->pause_node(victim) : driver_->signal_node(victim, SIGKILL);
    e.start_ns = e.end_ns = now_ns();
    if (pid.ok()) {
      e.applied = true;
      e.node = victim;
      e.pid = pid.value();
    } else {
      e.note = "skipped: " + pid.status().message();
    }
  } else {
    e.start_ns = e.end_ns = now_ns();
  }
  if (!e.applied) {
    print(e, "");
    events_.push_back(e);
    return;
  }
  if (!is_pause(fault.kind)) {
    print(e, "SIGKILL");
    events_.push_back(e);
    return;
  }
  print(e, fmt::format("SIGSTOP for {} ms", fault.pause.count()));
  // Heal on time, or at once when stopped.
  (void)sleep_until(Clock::now() + fault.pause);
  Status s = driver_->resume_node(victim);
  e.end_ns = now_ns();
  if (verbose_) {
    const std::string failed = s.ok() ? "" : " failed: " + s.message();
    std::printf("[%6.1fs] %-12s node%d (pid %d): SIGCONT%s\n", static_cast<double>(e.end_ns) / 1e9,
                std::string(to_string(e.kind)).c_str(), e.node, e.pid, failed.c_str());
    std::fflush(stdout);
  }
  events_.push_back(e);
}

void FaultInjector::print(const MembershipChange& c) const {
  if (!verbose_) return;
  std::string what = change_label(c);
  if (c.add) what += fmt::format(" (port {})", c.port);
  if (c.was_leader) what += " (leader)";
  const int64_t took_ms = (c.end_ns - c.start_ns) / 1'000'000;
  if (c.done) {
    what += fmt::format(": {} after {} ms", c.add ? "voter" : "removed and stopped", took_ms);
  } else {
    what += fmt::format(": NOT {}: {}", c.add ? "added" : "removed", c.note);
  }
  if (c.reloads > 0) what += fmt::format(" ({} kvcluster reload retries)", c.reloads);
  std::printf("[%6.1fs] %-12s %s\n", static_cast<double>(c.start_ns) / 1e9, "membership",
              what.c_str());
  std::fflush(stdout);
}

void FaultInjector::print(const FaultEvent& e, const std::string& what) const {
  if (!verbose_) return;
  const std::string kind(to_string(e.kind));
  if (e.applied) {
    std::printf("[%6.1fs] %-12s node%d (pid %d, %s): %s\n", static_cast<double>(e.start_ns) / 1e9,
                kind.c_str(), e.node, e.pid, e.note.c_str(), what.c_str());
  } else {
    std::printf("[%6.1fs] %-12s %s\n", static_cast<double>(e.start_ns) / 1e9, kind.c_str(),
                e.note.c_str());
  }
  std::fflush(stdout);
}

}  // namespace kv::chaos
