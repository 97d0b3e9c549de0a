#include "chaos/fault_injector.h"

#include <fmt/core.h>
#include <signal.h>

#include <cstdio>
#include <random>

namespace kv::chaos {

using std::chrono::milliseconds;

FaultInjector::FaultInjector(ClusterDriver* driver, std::vector<ScheduledFault> plan,
                             Clock::time_point epoch, bool verbose)
    : driver_(driver), plan_(std::move(plan)), epoch_(epoch), verbose_(verbose) {}

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
  const auto& nodes = driver_->nodes();
  std::mt19937_64 rng(fault.victim_seed);
  const int id = nodes[std::uniform_int_distribution<size_t>(0, nodes.size() - 1)(rng)].id;
  *note = "random node";
  return id;
}

void FaultInjector::inject(const ScheduledFault& fault) {
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
