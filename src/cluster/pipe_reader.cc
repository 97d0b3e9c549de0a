#include "cluster/pipe_reader.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace kv::cluster {

namespace {
constexpr size_t kReadChunk = 64 * 1024;
}

PipeReader::PipeReader(net::EventLoop* loop, int fd, LineFn on_line,
                       std::chrono::milliseconds partial_delay)
    : loop_(loop), fd_(fd), on_line_(std::move(on_line)), partial_delay_(partial_delay) {
  // One read per wakeup (level-triggered): several chatty nodes share the loop fairly.
  Status s = loop_->add(fd_, EPOLLIN, [this](uint32_t) { read_once(); });
  if (!s.ok()) close_pipe();
}

PipeReader::~PipeReader() {
  if (partial_timer_ != 0) loop_->cancel_timer(partial_timer_);
  if (fd_ >= 0) {
    loop_->remove(fd_);
    ::close(fd_);
  }
}

bool PipeReader::read_once() {
  if (fd_ < 0) return false;
  char buf[kReadChunk];
  ssize_t n = ::read(fd_, buf, sizeof(buf));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
  if (n <= 0) {
    assembler_.flush(on_line_);
    close_pipe();
    return false;
  }
  auto now = net::EventLoop::Clock::now();
  bool had_partial = assembler_.has_partial();
  size_t lines = 0;
  assembler_.feed(std::string_view(buf, static_cast<size_t>(n)), [&](std::string_view line) {
    ++lines;
    on_line_(line);
  });
  last_data_ = now;
  if (assembler_.has_partial()) {
    if (!had_partial || lines > 0) partial_since_ = now;
    arm_partial_timer();
  }
  return true;
}

void PipeReader::drain() {
  while (read_once()) {
  }
}

void PipeReader::arm_partial_timer() {
  if (partial_timer_ != 0) return;
  auto now = net::EventLoop::Clock::now();
  auto quiet_at = last_data_ + partial_delay_;
  auto overdue_at = partial_since_ + 10 * partial_delay_;
  auto when = std::max(now, std::min(quiet_at, overdue_at));
  partial_timer_ =
      loop_->run_after(std::chrono::ceil<std::chrono::milliseconds>(when - now), [this] {
        partial_timer_ = 0;
        // The rest of the line may sit unread in the pipe (the loop was busy): read it first.
        drain();
        if (!assembler_.has_partial()) return;
        auto now = net::EventLoop::Clock::now();
        if (now - last_data_ >= partial_delay_ || now - partial_since_ >= 10 * partial_delay_) {
          assembler_.flush(on_line_);
        } else {
          arm_partial_timer();
        }
      });
}

void PipeReader::close_pipe() {
  if (partial_timer_ != 0) {
    loop_->cancel_timer(partial_timer_);
    partial_timer_ = 0;
  }
  if (fd_ >= 0) {
    loop_->remove(fd_);
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace kv::cluster
