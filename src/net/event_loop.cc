#include "net/event_loop.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/check.h"
#include "common/logging.h"

namespace kv::net {

EventLoop::EventLoop() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) log::fatal("epoll_create1: {}", std::strerror(errno));
}

EventLoop::~EventLoop() { ::close(epoll_fd_); }

Status EventLoop::add(int fd, uint32_t events, FdCallback callback) {
  KV_CHECK(fd >= 0);
  if (static_cast<size_t>(fd) >= handlers_.size()) handlers_.resize(fd + 1);
  Handler& h = handlers_[fd];
  KV_CHECK(!h.active);
  h.generation++;
  h.active = true;
  h.callback = std::move(callback);
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (static_cast<uint64_t>(h.generation) << 32) | static_cast<uint32_t>(fd);
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    h.active = false;
    h.callback = nullptr;
    return Status::IOError(std::string("epoll_ctl add: ") + std::strerror(errno));
  }
  return Status::OK();
}

Status EventLoop::modify(int fd, uint32_t events) {
  KV_CHECK(fd >= 0 && static_cast<size_t>(fd) < handlers_.size() && handlers_[fd].active);
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (static_cast<uint64_t>(handlers_[fd].generation) << 32) | static_cast<uint32_t>(fd);
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) {
    return Status::IOError(std::string("epoll_ctl mod: ") + std::strerror(errno));
  }
  return Status::OK();
}

void EventLoop::remove(int fd) {
  if (fd < 0 || static_cast<size_t>(fd) >= handlers_.size() || !handlers_[fd].active) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  handlers_[fd].active = false;
  // Keep the std::function alive until the next add(): remove() is often called from inside
  // that very callback.
}

uint64_t EventLoop::run_after(std::chrono::milliseconds delay, TimerCallback callback) {
  uint64_t id = next_timer_id_++;
  auto deadline = Clock::now() + delay;
  timers_.emplace(std::make_pair(deadline, id), std::move(callback));
  timer_deadlines_.emplace(id, deadline);
  return id;
}

void EventLoop::cancel_timer(uint64_t id) {
  auto it = timer_deadlines_.find(id);
  if (it == timer_deadlines_.end()) return;
  timers_.erase(std::make_pair(it->second, id));
  timer_deadlines_.erase(it);
}

int EventLoop::wait_timeout_ms() const {
  if (timers_.empty()) return -1;
  auto wait = timers_.begin()->first.first - Clock::now();
  if (wait <= Clock::duration::zero()) return 0;
  // Round up so we never wake just before the deadline and spin.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  return ms > 60000 ? 60000 : static_cast<int>(ms);
}

void EventLoop::run_due_timers() {
  auto now = Clock::now();
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto node = timers_.extract(timers_.begin());
    timer_deadlines_.erase(node.key().second);
    node.mapped()();
  }
}

void EventLoop::run() {
  running_ = true;
  std::vector<epoll_event> events(256);
  while (running_) {
    if (before_sleep_) before_sleep_();
    if (!running_) break;
    int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), wait_timeout_ms());
    if (n < 0) {
      if (errno == EINTR) continue;
      log::fatal("epoll_wait: {}", std::strerror(errno));
    }
    for (int i = 0; i < n; ++i) {
      int fd = static_cast<int>(events[i].data.u64 & 0xffffffffu);
      uint32_t generation = static_cast<uint32_t>(events[i].data.u64 >> 32);
      if (static_cast<size_t>(fd) >= handlers_.size()) continue;
      Handler& h = handlers_[fd];
      if (!h.active || h.generation != generation) continue;  // removed earlier this round
      // Copy: the callback may remove() this fd and add() another in its place.
      FdCallback cb = h.callback;
      cb(events[i].events);
    }
    if (n == static_cast<int>(events.size())) events.resize(events.size() * 2);
    run_due_timers();
  }
}

}  // namespace kv::net
