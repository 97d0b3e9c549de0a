#include "cluster/admin_call.h"

#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cluster/tcp_connect.h"
#include "protocol/resp_writer.h"

namespace kv::cluster {

using protocol::Reply;

AdminCall::AdminCall(net::EventLoop* loop, const std::string& host, uint16_t port,
                     const std::string& secret, const std::vector<std::string>& argv,
                     std::chrono::milliseconds timeout, Done done)
    : loop_(loop),
      done_(std::move(done)),
      where_(host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                                 : fmt::format("{}:{}", host, port)),
      auth_(!secret.empty()) {
  if (auth_) protocol::write_command(&out_, {"AUTH", secret});
  protocol::write_command(&out_, argv);
  std::string error;
  fd_ = start_connect(host, port, &error);
  if (fd_ < 0 || !loop_->add(fd_, EPOLLOUT | EPOLLIN, [this](uint32_t ev) { on_event(ev); }).ok()) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    // Report from the loop, never from the constructor: the caller is still storing us.
    timer_ = loop_->run_after(std::chrono::milliseconds(0), [this, error] {
      timer_ = 0;
      finish(
          Status::IOError(fmt::format("{}: {}", where_, error.empty() ? "cannot connect" : error)));
    });
    return;
  }
  timer_ = loop_->run_after(timeout, [this, timeout] {
    timer_ = 0;
    finish(
        Status::IOError(fmt::format("{}: {} after {} ms", where_,
                                    connected_ ? "no answer" : "no connection", timeout.count())));
  });
}

AdminCall::~AdminCall() {
  if (timer_ != 0) loop_->cancel_timer(timer_);
  if (fd_ >= 0) {
    loop_->remove(fd_);
    ::close(fd_);
  }
}

void AdminCall::on_event(uint32_t events) {
  if (!connected_) {
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return finish(Status::IOError(fmt::format("{}: {}", where_, std::strerror(err))));
    if ((events & (EPOLLOUT | EPOLLIN)) == 0) {
      return finish(Status::IOError(where_ + ": connection failed"));
    }
    connected_ = true;
  }
  if (!out_.empty() && (events & EPOLLOUT)) {
    ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) {
      return finish(Status::IOError(fmt::format("{}: {}", where_, std::strerror(errno))));
    }
    if (n > 0) out_.erase(0, static_cast<size_t>(n));
    if (out_.empty()) (void)loop_->modify(fd_, EPOLLIN);
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      if (in_.size() > (1 << 20)) return finish(Status::IOError(where_ + ": reply too large"));
      return parse_replies();
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      return finish(Status::IOError(
          fmt::format("{}: {}", where_, n == 0 ? "connection closed" : std::strerror(errno))));
    }
  }
}

void AdminCall::parse_replies() {
  for (;;) {
    Reply reply;
    size_t consumed = 0;
    std::string err;
    auto r = protocol::parse_reply(in_, &consumed, &reply, &err);
    if (r == protocol::ParseResult::kNeedMore) return;
    if (r == protocol::ParseResult::kError) {
      return finish(Status::IOError(fmt::format("{}: bad reply: {}", where_, err)));
    }
    in_.erase(0, consumed);
    if (!auth_) return finish(std::move(reply));
    auth_ = false;
    if (reply.type == Reply::Type::kError) {
      return finish(
          Status::InvalidArgument(fmt::format("{}: AUTH refused: {}", where_, reply.str)));
    }
  }
}

void AdminCall::finish(Result<Reply> result) {
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
  Done done = std::move(done_);
  done(std::move(result));  // may destroy *this: touch no member after this line
}

}  // namespace kv::cluster
