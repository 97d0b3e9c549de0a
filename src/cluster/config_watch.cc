#include "cluster/config_watch.h"

#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace kv::cluster {

Result<std::unique_ptr<ConfigWatch>> ConfigWatch::start(net::EventLoop* loop,
                                                        const std::string& file_path,
                                                        std::function<void()> on_change,
                                                        std::chrono::milliseconds debounce) {
  std::filesystem::path p = std::filesystem::absolute(file_path);
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Status::IOError(fmt::format("inotify_init1: {}", std::strerror(errno)));
  std::string dir = p.parent_path().string();
  if (::inotify_add_watch(fd, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE) < 0) {
    int err = errno;
    ::close(fd);
    return Status::IOError(fmt::format("inotify watch on {}: {}", dir, std::strerror(err)));
  }
  std::unique_ptr<ConfigWatch> w(
      new ConfigWatch(loop, fd, p.filename().string(), std::move(on_change), debounce));
  if (Status s = loop->add(fd, EPOLLIN, [raw = w.get()](uint32_t) { raw->on_readable(); }); !s.ok())
    return s;
  return w;
}

ConfigWatch::ConfigWatch(net::EventLoop* loop, int fd, std::string name,
                         std::function<void()> on_change, std::chrono::milliseconds debounce)
    : loop_(loop),
      fd_(fd),
      name_(std::move(name)),
      on_change_(std::move(on_change)),
      debounce_(debounce) {}

ConfigWatch::~ConfigWatch() {
  if (timer_ != 0) loop_->cancel_timer(timer_);
  loop_->remove(fd_);
  ::close(fd_);
}

void ConfigWatch::on_readable() {
  alignas(inotify_event) char buf[16384];
  bool relevant = false;
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      auto* ev = reinterpret_cast<inotify_event*>(buf + off);
      if (ev->len > 0 && name_ == ev->name) relevant = true;
      if (ev->mask & IN_Q_OVERFLOW) relevant = true;  // events were lost: look anyway
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  if (!relevant) return;
  if (timer_ != 0) loop_->cancel_timer(timer_);
  timer_ = loop_->run_after(debounce_, [this] {
    timer_ = 0;
    on_change_();
  });
}

}  // namespace kv::cluster
