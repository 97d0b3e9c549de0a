// AdminCall: one administrative command sent to a node from the supervisor's event loop
// (non-blocking connect, no thread, no blocking call): it sends `AUTH <secret>` and the
// command pipelined on a fresh connection and reports the command's reply once, or why there
// is none (cannot connect, AUTH refused, connection closed, timeout). Used for the RAFT
// membership commands (README "Live membership"). Destroying the call cancels it without a
// report. The secret is never put in an error text. Single-threaded (the loop's thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "net/event_loop.h"
#include "protocol/resp_reply.h"

namespace kv::cluster {

class AdminCall {
 public:
  // A server error reply (-TRYAGAIN ...) is a Reply of type kError, not a failed Result. The
  // Result fails with IOError when no reply came, InvalidArgument when AUTH was refused.
  using Done = std::function<void(Result<protocol::Reply>)>;

  // Starts at once; done runs exactly once from a loop callback (never from the constructor),
  // unless the call is destroyed first. done may destroy the call. secret empty: no AUTH.
  AdminCall(net::EventLoop* loop, const std::string& host, uint16_t port, const std::string& secret,
            const std::vector<std::string>& argv, std::chrono::milliseconds timeout, Done done);
  ~AdminCall();
  AdminCall(const AdminCall&) = delete;
  AdminCall& operator=(const AdminCall&) = delete;

 private:
  void on_event(uint32_t events);
  void parse_replies();
  void finish(Result<protocol::Reply> result);

  net::EventLoop* loop_;
  Done done_;
  std::string where_;  // host:port, for error texts
  int fd_ = -1;
  uint64_t timer_ = 0;
  bool connected_ = false;
  bool finished_ = false;
  bool auth_ = false;  // an AUTH reply comes first
  std::string out_;    // request bytes not yet sent
  std::string in_;     // reply bytes received
};

}  // namespace kv::cluster
