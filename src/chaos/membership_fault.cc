#include "chaos/membership_fault.h"

#include <fmt/core.h>

#include <thread>

namespace kv::chaos {

std::string change_label(const MembershipChange& change) {
  return fmt::format("{}node{}", change.add ? "+" : "-", change.node);
}

MembershipFault::MembershipFault(ClusterDriver* driver, Clock::time_point epoch, Settings settings,
                                 const std::atomic<bool>* abort)
    : driver_(driver), epoch_(epoch), settings_(settings), abort_(abort) {}

int64_t MembershipFault::now_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - epoch_).count();
}

bool MembershipFault::wait_for(const std::function<bool()>& done, MembershipChange* change) {
  const auto deadline = Clock::now() + settings_.deadline;
  auto next_retry = Clock::now() + settings_.retry_after;
  while (true) {
    if (done()) return true;
    if (abort_ != nullptr && abort_->load()) {
      change->note = "interrupted";
      return false;
    }
    if (Clock::now() >= deadline) {
      change->note = fmt::format("not done within {} s", settings_.deadline.count() / 1000);
      return false;
    }
    if (Clock::now() >= next_retry) {
      // A change kvcluster gave up on (a refusal, a deadline of its own) is retried by a
      // reload; one still under way is left alone.
      next_retry = Clock::now() + settings_.retry_after;
      size_t in_progress = 0;
      if (auto status = driver_->supervised(&in_progress); status.ok() && in_progress == 0) {
        if (driver_->reload().ok()) ++change->reloads;
      }
    }
    std::this_thread::sleep_for(settings_.poll);
  }
}

MembershipChange MembershipFault::add_node() {
  MembershipChange c;
  c.add = true;
  c.start_ns = c.end_ns = now_ns();
  auto node = driver_->new_endpoint();
  if (!node.ok()) {
    c.note = node.status().message();
    return c;
  }
  c.node = node->id;
  c.port = node->port;
  if (Status s = driver_->add_to_file(node.value()); !s.ok()) {
    c.note = "cluster.json not edited: " + s.message();
    return c;
  }
  const int id = node->id;
  c.done = wait_for(
      [&] {
        auto leader = driver_->find_leader(settings_.info_timeout);
        if (!leader.ok() || !leader->is_voter(id)) return false;
        // It votes; it must also answer before a client is sent to it.
        return driver_->view(id, settings_.info_timeout).ok();
      },
      &c);
  c.end_ns = now_ns();
  if (c.done) driver_->make_live(id);
  return c;
}

MembershipChange MembershipFault::remove_node(int id) {
  MembershipChange c;
  c.add = false;
  c.node = id;
  c.start_ns = c.end_ns = now_ns();
  if (auto node = driver_->endpoint(id)) c.port = node->port;
  if (auto leader = driver_->find_leader(settings_.info_timeout); leader.ok()) {
    c.was_leader = leader->id == id;
  }
  if (Status s = driver_->remove_from_file(id); !s.ok()) {
    c.note = "cluster.json not edited: " + s.message();
    return c;
  }
  c.done = wait_for(
      [&] {
        auto leader = driver_->find_leader(settings_.info_timeout);
        if (!leader.ok() || leader->id == id || leader->is_member(id)) return false;
        // Out of the group; and stopped: kvcluster no longer lists it once its process exited.
        auto nodes = driver_->supervised();
        return nodes.ok() && nodes->count(id) == 0;
      },
      &c);
  c.end_ns = now_ns();
  if (c.done) driver_->forget(id);
  return c;
}

}  // namespace kv::chaos
