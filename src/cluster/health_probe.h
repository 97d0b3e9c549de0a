// HealthProbe: one asynchronous check that a node answers on its port, run on the event loop
// (non-blocking connect, no thread, no blocking call). It sends PING and INFO pipelined and
// reports once: ok when PING got +PONG (INFO is optional: its fields are returned when the
// node answers it). Destroying the probe cancels it without a report. Single-threaded.
// probe_once() is the blocking variant for `kvcluster status` with no supervisor running.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "cluster/resp_exchange.h"
#include "net/event_loop.h"

namespace kv::cluster {

struct ProbeResult {
  bool ok = false;
  std::string error;                        // why not ok: "connection refused", "timeout", ...
  std::map<std::string, std::string> info;  // INFO fields (field -> value), when answered
  std::chrono::microseconds latency{0};
};

class HealthProbe {
 public:
  using Done = std::function<void(ProbeResult)>;

  // Starts at once; done runs exactly once from a loop callback (never from the constructor),
  // unless the probe is destroyed first. done may destroy the probe.
  HealthProbe(net::EventLoop* loop, const std::string& host, uint16_t port,
              std::chrono::milliseconds timeout, Done done);
  ~HealthProbe() = default;
  HealthProbe(const HealthProbe&) = delete;
  HealthProbe& operator=(const HealthProbe&) = delete;

 private:
  RespExchange::Next on_reply(protocol::Reply reply);
  void on_end(std::optional<RespExchange::Failure> failure);
  void finish(ProbeResult result);

  Done done_;
  bool pong_ = false;   // PING was answered +PONG: the node is alive whatever INFO does
  ProbeResult result_;  // set by on_reply when it returns kDone
  net::EventLoop::Clock::time_point started_;
  RespExchange exchange_;  // last: destroyed first, so no callback outlives the fields above
};

// Connects, sends PING + INFO and waits for the answers, blocking up to timeout.
ProbeResult probe_once(const std::string& host, uint16_t port, std::chrono::milliseconds timeout);

// "field:value" lines of an INFO reply; "# Section" headers and blank lines skipped.
std::map<std::string, std::string> parse_info(const std::string& text);

}  // namespace kv::cluster
