// PipeReader: reads one output pipe of a node on the event loop and hands out whole lines.
// An unfinished line (a prompt, a progress dot) is handed out once the pipe has been quiet
// for partial_delay, and at EOF. Owns the fd: closes it and leaves the loop when destroyed.
// Single-threaded (the loop's thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>

#include "cluster/output_mux.h"
#include "net/event_loop.h"

namespace kv::cluster {

class PipeReader {
 public:
  using LineFn = std::function<void(std::string_view line)>;

  // REQUIRES: fd is non-blocking. on_line gets every line (never with a '\n').
  PipeReader(net::EventLoop* loop, int fd, LineFn on_line,
             std::chrono::milliseconds partial_delay = std::chrono::milliseconds(100));
  ~PipeReader();
  PipeReader(const PipeReader&) = delete;
  PipeReader& operator=(const PipeReader&) = delete;

  // Reads everything the pipe holds right now (the writer exited: all it wrote is there) and
  // flushes the partial line if the pipe reached EOF.
  void drain();
  bool at_eof() const { return fd_ < 0; }

 private:
  // One read(2); false at EOF/error (then the pipe is closed) or when nothing was there.
  bool read_once();
  void close_pipe();
  void arm_partial_timer();

  net::EventLoop* loop_;
  int fd_;
  LineFn on_line_;
  std::chrono::milliseconds partial_delay_;
  LineAssembler assembler_;
  uint64_t partial_timer_ = 0;  // 0: none armed
  // When bytes last arrived and when the current unfinished line began: a partial line is
  // handed out once the pipe has been quiet for partial_delay (the writer is not just between
  // two write() calls of one long line), or after 10 x partial_delay in any case.
  net::EventLoop::Clock::time_point last_data_, partial_since_;
};

}  // namespace kv::cluster
