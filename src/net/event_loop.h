// EventLoop: the single-threaded epoll reactor every node runs on (Redis's ae, reduced).
// Owns nothing but the epoll fd and the registered callbacks; callers own their fds.
// Not thread-safe: every method is called from the loop's own thread.
// Each iteration: wait for fd events and due timers, run their callbacks, then run the
// before-sleep hook (where the server syncs its log and then releases replies).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "common/status.h"

namespace kv::net {

class EventLoop {
 public:
  using FdCallback = std::function<void(uint32_t events)>;
  using TimerCallback = std::function<void()>;
  using Clock = std::chrono::steady_clock;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Registers fd for `events` (EPOLLIN/EPOLLOUT...). REQUIRES: fd not registered.
  Status add(int fd, uint32_t events, FdCallback callback);
  Status modify(int fd, uint32_t events);
  // Unregisters fd. Events already fetched for it in this iteration are dropped, even if the
  // fd number is reused by a new registration before they would have run.
  void remove(int fd);

  // Runs callback once after `delay`; returns an id for cancel_timer.
  uint64_t run_after(std::chrono::milliseconds delay, TimerCallback callback);
  void cancel_timer(uint64_t id);

  // Called once per iteration after all callbacks, before blocking again.
  void set_before_sleep(std::function<void()> hook) { before_sleep_ = std::move(hook); }

  // Runs until stop() is called (from a callback).
  void run();
  void stop() { running_ = false; }

 private:
  struct Handler {
    uint32_t generation = 0;  // bumped on every add(); stale events carry an older one
    bool active = false;
    FdCallback callback;
  };
  int wait_timeout_ms() const;
  void run_due_timers();

  int epoll_fd_ = -1;
  bool running_ = false;
  std::vector<Handler> handlers_;  // indexed by fd
  // Timers ordered by (deadline, id); the id map lets cancel_timer find them.
  std::map<std::pair<Clock::time_point, uint64_t>, TimerCallback> timers_;
  std::map<uint64_t, Clock::time_point> timer_deadlines_;
  uint64_t next_timer_id_ = 1;
  std::function<void()> before_sleep_;
};

}  // namespace kv::net
