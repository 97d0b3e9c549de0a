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
#include <optional>
#include <string>
#include <vector>

#include "cluster/resp_exchange.h"
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
  ~AdminCall() = default;
  AdminCall(const AdminCall&) = delete;
  AdminCall& operator=(const AdminCall&) = delete;

 private:
  RespExchange::Next on_reply(protocol::Reply reply);
  void on_end(std::optional<RespExchange::Failure> failure);

  Done done_;
  std::string where_;  // host:port, for error texts
  std::chrono::milliseconds timeout_;
  bool auth_ = false;                              // an AUTH reply comes first
  std::optional<Result<protocol::Reply>> result_;  // set by on_reply when it returns kDone
  RespExchange exchange_;  // last: destroyed first, so no callback outlives the fields above
};

}  // namespace kv::cluster
