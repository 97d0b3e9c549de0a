#include "cluster/restart_policy.h"

namespace kv::cluster {

void RestartPolicy::on_start(TimePoint) { ready_at_.reset(); }

void RestartPolicy::on_ready(TimePoint now) {
  if (!ready_at_) ready_at_ = now;
}

RestartPolicy::Decision RestartPolicy::on_exit(TimePoint now) {
  if (ready_at_ && now - *ready_at_ >= settings_.healthy_after) failures_ = 0;
  ready_at_.reset();
  ++failures_;
  if (failures_ > settings_.max_failures) return Decision{true, {}};
  return Decision{false, backoff(settings_, failures_)};
}

std::chrono::milliseconds RestartPolicy::backoff(const RestartSettings& s, int n) {
  auto delay = s.initial_backoff;
  for (int i = 1; i < n && delay < s.max_backoff; ++i) delay *= 2;
  return delay < s.max_backoff ? delay : s.max_backoff;
}

}  // namespace kv::cluster
