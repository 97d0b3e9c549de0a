#include "cluster/admin_call.h"

#include <fmt/format.h>

#include <utility>

#include "protocol/resp_writer.h"

namespace kv::cluster {
namespace {

std::string request_bytes(const std::string& secret, const std::vector<std::string>& argv) {
  std::string out;
  if (!secret.empty()) protocol::write_command(&out, {"AUTH", secret});
  protocol::write_command(&out, argv);
  return out;
}

}  // namespace

using protocol::Reply;

AdminCall::AdminCall(net::EventLoop* loop, const std::string& host, uint16_t port,
                     const std::string& secret, const std::vector<std::string>& argv,
                     std::chrono::milliseconds timeout, Done done)
    : done_(std::move(done)),
      where_(host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                                 : fmt::format("{}:{}", host, port)),
      timeout_(timeout),
      auth_(!secret.empty()),
      exchange_(
          loop, host, port, request_bytes(secret, argv), timeout,
          [this](Reply reply) { return on_reply(std::move(reply)); },
          [this](std::optional<RespExchange::Failure> failure) { on_end(std::move(failure)); }) {}

RespExchange::Next AdminCall::on_reply(Reply reply) {
  if (!auth_) {
    result_ = std::move(reply);
    return RespExchange::Next::kDone;
  }
  auth_ = false;
  if (reply.type == Reply::Type::kError) {
    result_ = Status::InvalidArgument(fmt::format("{}: AUTH refused: {}", where_, reply.str));
    return RespExchange::Next::kDone;
  }
  return RespExchange::Next::kMore;
}

void AdminCall::on_end(std::optional<RespExchange::Failure> failure) {
  using Kind = RespExchange::Failure::Kind;
  if (failure) {
    std::string why = failure->reason;
    if (failure->kind == Kind::kConnectTimeout || failure->kind == Kind::kReplyTimeout) {
      why = fmt::format("{} after {} ms",
                        failure->kind == Kind::kReplyTimeout ? "no answer" : "no connection",
                        timeout_.count());
    }
    result_ = Status::IOError(fmt::format("{}: {}", where_, why));
  }
  Done done = std::move(done_);
  done(std::move(*result_));  // may destroy *this: touch no member after this line
}

}  // namespace kv::cluster
