// RespExchange: one request/reply conversation with a node on a fresh TCP connection, run on
// the supervisor's event loop (non-blocking connect, no thread, no blocking call). It sends the
// request bytes, hands each parsed reply to its owner until the owner says done, and ends
// exactly once: done, or a failure with a short reason. The connection machinery HealthProbe
// and AdminCall share. Destroying it cancels the exchange without a report. Single-threaded
// (the loop's thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "net/event_loop.h"
#include "protocol/resp_reply.h"

namespace kv::cluster {

class RespExchange {
 public:
  enum class Next { kMore, kDone };

  struct Failure {
    enum class Kind {
      kConnect,         // could not connect: reason is the error ("Connection refused", ...)
      kConnectTimeout,  // the timeout passed before the connection was up
      kReplyTimeout,    // connected, but the replies did not all come in time
      kSend,            // sending the request failed: reason is the errno text
      kClosed,          // while reading: "connection closed", or the errno text of a reset
      kTooLarge,        // more than kMaxReplyBytes unparsed: "reply too large"
      kBadReply,        // not RESP: "bad reply: <parser error>"
    };
    Kind kind;
    std::string reason;  // short, without host:port
  };

  // Each complete reply, in order. Returns kDone to end the exchange (on_end then runs with no
  // failure), kMore to read on. REQUIRES: does not destroy the exchange (it returns kDone).
  using OnReply = std::function<Next(protocol::Reply)>;
  // Runs exactly once, from a loop callback (never from the constructor), after the connection
  // and the timer are gone; failure is empty when on_reply returned kDone. May destroy the
  // exchange.
  using OnEnd = std::function<void(std::optional<Failure>)>;

  // Replies are buffered up to this many bytes not yet parsed.
  static constexpr size_t kMaxReplyBytes = size_t{1} << 20;

  // Starts at once: connects to host:port, sends request (RESP bytes, pipelined commands
  // allowed); timeout covers the whole exchange.
  RespExchange(net::EventLoop* loop, const std::string& host, uint16_t port, std::string request,
               std::chrono::milliseconds timeout, OnReply on_reply, OnEnd on_end);
  ~RespExchange();
  RespExchange(const RespExchange&) = delete;
  RespExchange& operator=(const RespExchange&) = delete;

 private:
  void on_event(uint32_t events);
  void parse_replies();
  void fail(Failure::Kind kind, std::string reason);
  void finish(std::optional<Failure> failure);

  net::EventLoop* loop_;
  OnReply on_reply_;
  OnEnd on_end_;
  int fd_ = -1;         // -1 once finished (or when the connect could not start)
  uint64_t timer_ = 0;  // the timeout, or the deferred connect-failure report; 0 when none
  bool connected_ = false;
  bool finished_ = false;  // on_end has run or is running: nothing more is reported
  std::string out_;        // request bytes not yet sent
  std::string in_;         // reply bytes received, not yet parsed
};

}  // namespace kv::cluster
