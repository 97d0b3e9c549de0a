#include "cluster/health_probe.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "cluster/tcp_connect.h"
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

// How far the replies in `in` go: 0 need more, 1 PONG seen, 2 both replies seen; -1 bad.
int scan_replies(const std::string& in, bool* pong, std::string* info_text, std::string* error) {
  size_t used = 0;
  protocol::Reply first;
  size_t consumed = 0;
  std::string err;
  auto r = protocol::parse_reply(in, &consumed, &first, &err);
  if (r == protocol::ParseResult::kNeedMore) return 0;
  if (r == protocol::ParseResult::kError) {
    *error = "bad reply: " + err;
    return -1;
  }
  if (first.type != protocol::Reply::Type::kSimpleString || first.str != "PONG") {
    *error = first.type == protocol::Reply::Type::kError ? "PING answered: " + first.str
                                                         : "PING answered without PONG";
    return -1;
  }
  *pong = true;
  used = consumed;
  protocol::Reply second;
  r = protocol::parse_reply(std::string_view(in).substr(used), &consumed, &second, &err);
  if (r == protocol::ParseResult::kNeedMore) return 1;
  if (r == protocol::ParseResult::kComplete && second.type == protocol::Reply::Type::kBulkString) {
    *info_text = second.str;
  }
  return 2;
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
    : loop_(loop), done_(std::move(done)), out_(request_bytes()), started_(Clock::now()) {
  std::string error;
  fd_ = start_connect(host, port, &error);
  if (fd_ < 0 || !loop_->add(fd_, EPOLLOUT | EPOLLIN, [this](uint32_t ev) { on_event(ev); }).ok()) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    // Report from the loop, never from the constructor: the caller is still storing us.
    timer_ = loop_->run_after(std::chrono::milliseconds(0), [this, error] {
      timer_ = 0;
      finish(ProbeResult{false, error.empty() ? "cannot connect" : error, {}, {}});
    });
    return;
  }
  timer_ = loop_->run_after(timeout, [this] {
    timer_ = 0;
    finish(ProbeResult{false, connected_ ? "no answer (timeout)" : "connect timeout", {}, {}});
  });
}

HealthProbe::~HealthProbe() {
  if (timer_ != 0) loop_->cancel_timer(timer_);
  if (fd_ >= 0) {
    loop_->remove(fd_);
    ::close(fd_);
  }
}

void HealthProbe::on_event(uint32_t events) {
  if (!connected_) {
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return finish(ProbeResult{false, std::strerror(err), {}, {}});
    if ((events & (EPOLLOUT | EPOLLIN)) == 0) {
      return finish(ProbeResult{false, "connection failed", {}, {}});
    }
    connected_ = true;
  }
  if (!out_.empty() && (events & EPOLLOUT)) {
    ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) return finish(ProbeResult{false, std::strerror(errno), {}, {}});
    if (n > 0) out_.erase(0, static_cast<size_t>(n));
    if (out_.empty()) (void)loop_->modify(fd_, EPOLLIN);
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      if (in_.size() > (1 << 20)) return finish(ProbeResult{false, "INFO reply too large", {}, {}});
      return parse_replies();
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      // Closed after PONG (a node without INFO): still alive and answering.
      if (pong_) return finish(ProbeResult{true, "", {}, {}});
      return finish(
          ProbeResult{false, n == 0 ? "connection closed" : std::strerror(errno), {}, {}});
    }
  }
}

void HealthProbe::parse_replies() {
  std::string info_text, error;
  int progress = scan_replies(in_, &pong_, &info_text, &error);
  if (progress < 0) return finish(ProbeResult{false, error, {}, {}});
  if (progress == 2) return finish(ProbeResult{true, "", parse_info(info_text), {}});
}

void HealthProbe::finish(ProbeResult result) {
  if (finished_) return;
  finished_ = true;
  result.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_);
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
