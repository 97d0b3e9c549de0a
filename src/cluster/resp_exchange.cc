#include "cluster/resp_exchange.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "cluster/tcp_connect.h"

namespace kv::cluster {

using Kind = RespExchange::Failure::Kind;

RespExchange::RespExchange(net::EventLoop* loop, const std::string& host, uint16_t port,
                           std::string request, std::chrono::milliseconds timeout, OnReply on_reply,
                           OnEnd on_end)
    : loop_(loop),
      on_reply_(std::move(on_reply)),
      on_end_(std::move(on_end)),
      out_(std::move(request)) {
  std::string error;
  fd_ = start_connect(host, port, &error);
  if (fd_ < 0 || !loop_->add(fd_, EPOLLOUT | EPOLLIN, [this](uint32_t ev) { on_event(ev); }).ok()) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    // Report from the loop, never from the constructor: the caller is still storing us.
    timer_ = loop_->run_after(std::chrono::milliseconds(0), [this, error] {
      timer_ = 0;
      fail(Kind::kConnect, error.empty() ? "cannot connect" : error);
    });
    return;
  }
  timer_ = loop_->run_after(timeout, [this] {
    timer_ = 0;
    if (connected_) return fail(Kind::kReplyTimeout, "no answer");
    fail(Kind::kConnectTimeout, "no connection");
  });
}

RespExchange::~RespExchange() {
  if (timer_ != 0) loop_->cancel_timer(timer_);
  if (fd_ >= 0) {
    loop_->remove(fd_);
    ::close(fd_);
  }
}

void RespExchange::on_event(uint32_t events) {
  if (!connected_) {
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return fail(Kind::kConnect, std::strerror(err));
    if ((events & (EPOLLOUT | EPOLLIN)) == 0) return fail(Kind::kConnect, "connection failed");
    connected_ = true;
  }
  if (!out_.empty() && (events & EPOLLOUT)) {
    ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) return fail(Kind::kSend, std::strerror(errno));
    if (n > 0) out_.erase(0, static_cast<size_t>(n));
    if (out_.empty()) (void)loop_->modify(fd_, EPOLLIN);
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      if (in_.size() > kMaxReplyBytes) return fail(Kind::kTooLarge, "reply too large");
      return parse_replies();
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      return fail(Kind::kClosed, n == 0 ? "connection closed" : std::strerror(errno));
    }
  }
}

void RespExchange::parse_replies() {
  for (;;) {
    protocol::Reply reply;
    size_t consumed = 0;
    std::string err;
    auto r = protocol::parse_reply(in_, &consumed, &reply, &err);
    if (r == protocol::ParseResult::kNeedMore) return;
    if (r == protocol::ParseResult::kError) return fail(Kind::kBadReply, "bad reply: " + err);
    in_.erase(0, consumed);
    if (on_reply_(std::move(reply)) == Next::kDone) return finish(std::nullopt);
  }
}

void RespExchange::fail(Failure::Kind kind, std::string reason) {
  finish(Failure{kind, std::move(reason)});
}

void RespExchange::finish(std::optional<Failure> failure) {
  if (finished_) return;
  finished_ = true;
  if (timer_ != 0) {
    loop_->cancel_timer(timer_);
    timer_ = 0;
  }
  if (fd_ >= 0) {
    loop_->remove(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  OnEnd on_end = std::move(on_end_);
  on_end(std::move(failure));  // may destroy *this: touch no member after this line
}

}  // namespace kv::cluster
