#include "raft/progress.h"

#include <algorithm>
#include <utility>

namespace kv::raft {

bool Progress::can_send_append(size_t max_inflight) const {
  switch (state_) {
    case State::kProbe:
      return !probe_sent_;
    case State::kReplicate:
      return inflight_.size() < max_inflight;
    case State::kSnapshot:
      return false;
  }
  return false;
}

void Progress::on_append_sent(Index last_index, bool had_entries) {
  if (state_ == State::kProbe) {
    probe_sent_ = true;
  } else if (state_ == State::kReplicate && had_entries) {
    // Optimistic: assume it arrives, so the next append can leave without waiting.
    next_ = last_index + 1;
    inflight_.push_back(last_index);
  }
}

bool Progress::on_ack(Index match, Index accepted) {
  bool advanced = match > match_;
  if (advanced) match_ = match;
  while (!inflight_.empty() && inflight_.front() <= match_) inflight_.pop_front();
  Index known_next = std::max(match, accepted) + 1;
  switch (state_) {
    case State::kProbe:
      next_ = std::max(known_next, match_ + 1);
      become_replicate();
      break;
    case State::kReplicate:
      next_ = std::max({next_, known_next, match_ + 1});
      break;
    case State::kSnapshot:
      if (match_ >= pending_snapshot_.last_index) {
        next_ = std::max(known_next, match_ + 1);
        become_replicate();
      }
      break;
  }
  return advanced;
}

bool Progress::on_reject(Index rejected, Index new_next) {
  if (state_ == State::kSnapshot) return false;
  if (state_ == State::kReplicate && rejected <= match_) return false;
  if (state_ == State::kProbe && rejected != next_ - 1) return false;
  // The follower lacks what we sent at `rejected`: back off and probe from there.
  next_ = std::max(match_ + 1, std::min(new_next, rejected));
  become_probe();
  return true;
}

void Progress::unstick(size_t max_inflight) {
  if (state_ == State::kProbe) probe_sent_ = false;
  if (state_ == State::kReplicate && inflight_.size() >= max_inflight) inflight_.pop_front();
}

void Progress::become_snapshot(SnapshotMeta snapshot, SnapshotData data) {
  state_ = State::kSnapshot;
  pending_snapshot_ = snapshot;
  snapshot_data_ = std::move(data);
  snapshot_offset_ = 0;
  probe_sent_ = false;
  inflight_.clear();
}

void Progress::become_probe() {
  state_ = State::kProbe;
  probe_sent_ = false;
  inflight_.clear();
  pending_snapshot_ = {};
  snapshot_data_ = nullptr;
}

void Progress::become_replicate() {
  state_ = State::kReplicate;
  probe_sent_ = false;
  inflight_.clear();
  pending_snapshot_ = {};
  snapshot_data_ = nullptr;
}

}  // namespace kv::raft
