#include "server/peer_link.h"

#include <netdb.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/logging.h"
#include "net/socket_util.h"
#include "protocol/resp_reply.h"
#include "protocol/resp_writer.h"

namespace kv::server {
namespace {

constexpr std::chrono::milliseconds kRetryDelay{100};
// Raft messages are dropped while this much is still unwritten (a stalled peer must not
// grow our memory without bound); forwarded commands are always queued.
constexpr size_t kMaxQueuedBytes = 64 * 1024 * 1024;
constexpr size_t kPeerReadChunk = 64 * 1024;

// Resolves host:port and starts a non-blocking connect. Returns the fd or -1 (errno set).
int start_connect(const PeerAddress& peer) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(peer.port);
  if (::getaddrinfo(peer.host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
    errno = EHOSTUNREACH;
    return -1;
  }
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS) {
    int err = errno;
    ::close(fd);
    fd = -1;
    errno = err;
  }
  ::freeaddrinfo(res);
  return fd;
}

}  // namespace

PeerLink::PeerLink(net::EventLoop* loop, PeerAddress peer, uint64_t self_id, std::string secret)
    : loop_(loop), peer_(std::move(peer)), self_id_(self_id), secret_(std::move(secret)) {}

PeerLink::~PeerLink() {
  if (fd_ >= 0) {
    loop_->remove(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  // Owners are going away too: nobody is left to answer.
  expected_.clear();
}

bool PeerLink::ensure_connecting() {
  if (state_ != State::kDown) return true;
  auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_) return false;
  next_attempt_ = now + kRetryDelay;
  fd_ = start_connect(peer_);
  if (fd_ < 0) {
    if (!warned_) log::warn("peer {} at {}: cannot connect: {}", peer_.id, peer_.addr(), std::strerror(errno));
    warned_ = true;
    return false;
  }
  net::set_nodelay(fd_);
  Status s = loop_->add(fd_, EPOLLOUT, [this](uint32_t events) { on_event(events); });
  if (!s.ok()) {
    ::close(fd_);
    fd_ = -1;
    return false;
  }
  want_write_ = true;
  state_ = State::kConnecting;
  // The handshake goes first; anything queued while connecting follows it.
  std::string hello;
  protocol::write_command(&hello, {"KVPEER", secret_, std::to_string(self_id_)});
  out_.insert(0, hello);
  written_ = 0;
  expected_.push_front(Expected{true, nullptr, 0});
  return true;
}

void PeerLink::send_raft(std::string_view encoded_message) {
  if (!ensure_connecting() || out_.size() > kMaxQueuedBytes) return;
  // write_command for {"KVRAFT", bytes} without copying the message into a vector.
  out_ += "*2\r\n$6\r\nKVRAFT\r\n$";
  out_ += std::to_string(encoded_message.size());
  out_ += "\r\n";
  out_ += encoded_message;
  out_ += "\r\n";
}

bool PeerLink::forward(const std::vector<std::string>& args, ReplyCallback callback) {
  if (!ensure_connecting()) return false;
  const uint64_t begin = written_ + out_.size();
  protocol::write_command(&out_, args);
  expected_.push_back(Expected{false, std::move(callback), begin});
  return true;
}

void PeerLink::flush() {
  if (state_ == State::kConnected && !out_.empty()) write_some();
}

void PeerLink::on_event(uint32_t events) {
  if (state_ == State::kConnecting) {
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      if (!warned_) log::warn("peer {} at {}: cannot connect: {}", peer_.id, peer_.addr(), std::strerror(err ? err : ECONNREFUSED));
      warned_ = true;
      close_link(nullptr);
      return;
    }
    on_connected();
    return;
  }
  if (events & EPOLLIN) on_readable();
  if (state_ == State::kConnected && (events & EPOLLOUT)) write_some();
  if (state_ == State::kConnected && (events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) {
    close_link("connection lost");
  }
}

void PeerLink::on_connected() {
  state_ = State::kConnected;
  want_write_ = true;
  (void)loop_->modify(fd_, EPOLLIN | EPOLLOUT);
  if (warned_) log::info("peer {} at {}: connected", peer_.id, peer_.addr());
  warned_ = false;
  write_some();
}

void PeerLink::on_readable() {
  char buf[kPeerReadChunk];
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof(buf)) break;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    close_link(n == 0 ? "closed by the peer" : std::strerror(errno));
    return;
  }
  size_t off = 0;
  while (off < in_.size()) {
    size_t consumed = 0;
    protocol::Reply reply;
    std::string error;
    std::string_view rest(in_.data() + off, in_.size() - off);
    auto r = protocol::parse_reply(rest, &consumed, &reply, &error);
    if (r == protocol::ParseResult::kNeedMore) break;
    if (r == protocol::ParseResult::kError || expected_.empty()) {
      close_link("unexpected reply from the peer");
      return;
    }
    Expected e = std::move(expected_.front());
    expected_.pop_front();
    off += consumed;
    if (e.auth) {
      if (reply.type == protocol::Reply::Type::kError) {
        // Once per refusal streak: a node removed from the cluster hears this every second.
        if (!refused_) {
          log::error("peer {} at {} refused us: {} (was this node removed from the cluster, or do "
                     "the members have different cluster secrets?)",
                     peer_.id, peer_.addr(), reply.str);
        }
        refused_ = true;
        next_attempt_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        close_link(nullptr);
        return;
      }
      if (refused_) log::info("peer {} at {} accepts us again", peer_.id, peer_.addr());
      refused_ = false;
      continue;
    }
    e.callback(Outcome::kReply, rest.substr(0, consumed));
    if (state_ != State::kConnected) return;  // the callback may not close us, but be safe
  }
  in_.erase(0, off);
}

void PeerLink::write_some() {
  size_t off = 0;
  while (off < out_.size()) {
    ssize_t n = ::write(fd_, out_.data() + off, out_.size() - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    out_.erase(0, off);
    written_ += off;
    close_link(std::strerror(errno));
    return;
  }
  out_.erase(0, off);
  written_ += off;
  update_interest();
}

void PeerLink::update_interest() {
  bool want = !out_.empty();
  if (want == want_write_ || fd_ < 0) return;
  want_write_ = want;
  (void)loop_->modify(fd_, EPOLLIN | (want ? uint32_t{EPOLLOUT} : 0u));
}

void PeerLink::close_link(const char* why) {
  if (why != nullptr && state_ == State::kConnected) {
    log::warn("peer {} at {}: {}", peer_.id, peer_.addr(), why);
    warned_ = true;
  }
  if (fd_ >= 0) {
    loop_->remove(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  state_ = State::kDown;
  out_.clear();
  in_.clear();
  want_write_ = false;
  // Every forwarded command still waiting fails. One whose first byte never reached the
  // socket was certainly not executed; for the others nobody can tell.
  std::deque<Expected> failed;
  failed.swap(expected_);
  const uint64_t written = written_;
  written_ = 0;
  for (auto& e : failed) {
    if (e.callback) e.callback(e.begin >= written ? Outcome::kNotSent : Outcome::kLost, {});
  }
}

}  // namespace kv::server
