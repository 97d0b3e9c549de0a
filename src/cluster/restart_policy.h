// RestartPolicy: what to do when a node's process exits on its own. Pure: it is told the
// times of starts, readiness and exits and answers "restart after D" or "give up"; the caller
// owns the clock (tests drive it with made-up time points). One per node; not thread-safe.
//
// Backoff starts at initial_backoff and doubles per consecutive failure up to max_backoff.
// A run that stayed ready (answering PING) for healthy_after resets the count, so a node that
// crashes once a day always restarts quickly. More than max_failures consecutive failures
// without such a healthy run: give up (the node is `failed` until an operator re-arms it).
#pragma once

#include <chrono>
#include <optional>

#include "cluster/cluster_config.h"

namespace kv::cluster {

class RestartPolicy {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  struct Decision {
    bool give_up = false;
    std::chrono::milliseconds delay{0};  // when !give_up: wait this long, then start again
  };

  explicit RestartPolicy(RestartSettings settings) : settings_(settings) {}

  // The settings can change on reload; the failure count is kept.
  void set_settings(const RestartSettings& settings) { settings_ = settings; }
  void on_start(TimePoint now);
  // The process answered its first probe.
  void on_ready(TimePoint now);
  // The process exited without being asked to.
  Decision on_exit(TimePoint now);
  // An operator re-armed the node (`kvcluster restart`): forget past failures.
  void reset() { failures_ = 0; }

  // Consecutive failures since the last healthy run.
  int failures() const { return failures_; }
  // The backoff before restart number n (1-based) under these settings.
  static std::chrono::milliseconds backoff(const RestartSettings& s, int n);

 private:
  RestartSettings settings_;
  int failures_ = 0;
  std::optional<TimePoint> ready_at_;  // of the current run; unset until it answers
};

}  // namespace kv::cluster
