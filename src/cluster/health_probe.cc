#include "cluster/health_probe.h"

#include <utility>

#include "protocol/resp_reply.h"
#include "protocol/resp_writer.h"

namespace kv::cluster {
namespace {

using Clock = net::EventLoop::Clock;

std::string request_bytes() {
  std::string out;
  protocol::write_command(&out, {"PING"});
  protocol::write_command(&out, {"INFO"});
  return out;
}

}  // namespace

std::map<std::string, std::string> parse_info(const std::string& text) {
  std::map<std::string, std::string> fields;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    fields[line.substr(0, colon)] = line.substr(colon + 1);
  }
  return fields;
}

HealthProbe::HealthProbe(net::EventLoop* loop, const std::string& host, uint16_t port,
                         std::chrono::milliseconds timeout, Done done)
    : done_(std::move(done)),
      started_(Clock::now()),
      exchange_(
          loop, host, port, request_bytes(), timeout,
          [this](protocol::Reply reply) { return on_reply(std::move(reply)); },
          [this](std::optional<RespExchange::Failure> failure) { on_end(std::move(failure)); }) {}

RespExchange::Next HealthProbe::on_reply(protocol::Reply reply) {
  using Type = protocol::Reply::Type;
  if (pong_) {
    // INFO's answer: its fields when it is a bulk string, none otherwise; alive either way.
    result_ = ProbeResult{true,
                          "",
                          reply.type == Type::kBulkString ? parse_info(reply.str)
                                                          : std::map<std::string, std::string>{},
                          {}};
    return RespExchange::Next::kDone;
  }
  if (reply.type != Type::kSimpleString || reply.str != "PONG") {
    result_ = ProbeResult{
        false,
        reply.type == Type::kError ? "PING answered: " + reply.str : "PING answered without PONG",
        {},
        {}};
    return RespExchange::Next::kDone;
  }
  pong_ = true;
  return RespExchange::Next::kMore;
}

void HealthProbe::on_end(std::optional<RespExchange::Failure> failure) {
  using Kind = RespExchange::Failure::Kind;
  if (!failure) return finish(std::move(result_));
  switch (failure->kind) {
    case Kind::kClosed:    // closed after PONG (a node without INFO): still alive and answering
    case Kind::kBadReply:  // PONG, then an INFO answer that is not RESP: alive, no fields
      if (pong_) return finish(ProbeResult{true, "", {}, {}});
      break;
    case Kind::kTooLarge:
      return finish(ProbeResult{false, "INFO reply too large", {}, {}});
    case Kind::kConnectTimeout:
      return finish(ProbeResult{false, "connect timeout", {}, {}});
    case Kind::kReplyTimeout:
      return finish(ProbeResult{false, "no answer (timeout)", {}, {}});
    case Kind::kConnect:
    case Kind::kSend:
      break;
  }
  finish(ProbeResult{false, std::move(failure->reason), {}, {}});
}

void HealthProbe::finish(ProbeResult result) {
  result.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_);
  Done done = std::move(done_);
  done(std::move(result));  // may destroy *this: touch no member after this line
}

ProbeResult probe_once(const std::string& host, uint16_t port, std::chrono::milliseconds timeout) {
  net::EventLoop loop;
  ProbeResult out;
  HealthProbe probe(&loop, host, port, timeout, [&](ProbeResult r) {
    out = std::move(r);
    loop.stop();
  });
  loop.run();
  return out;
}

}  // namespace kv::cluster
