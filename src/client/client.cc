#include "client/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "net/socket_util.h"
#include "protocol/resp_writer.h"

namespace kv::client {

Result<Client> Client::connect(const std::string& host, uint16_t port,
                               std::chrono::milliseconds timeout) {
  auto fd = net::connect_tcp(host, port, timeout);
  if (!fd.ok()) return fd.status();
  Client c(*fd);
  c.set_timeout(std::chrono::seconds(30));
  return c;
}

Client::Client(Client&& other) noexcept
    : fd_(other.fd_), out_(std::move(other.out_)), in_(std::move(other.in_)) {
  other.fd_ = -1;
}

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    out_ = std::move(other.out_);
    in_ = std::move(other.in_);
    other.fd_ = -1;
  }
  return *this;
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

void Client::set_timeout(std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

Status Client::send(const std::vector<std::string>& argv) {
  protocol::write_command(&out_, argv);
  return Status::OK();
}

Status Client::send_raw(std::string_view bytes) {
  out_.append(bytes);
  return flush();
}

Status Client::flush() {
  size_t off = 0;
  while (off < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + off, out_.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      out_.clear();
      return Status::IOError(std::string("send: ") + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  out_.clear();
  return Status::OK();
}

Result<protocol::Reply> Client::read_reply() {
  if (Status s = flush(); !s.ok()) return s;
  char buf[64 * 1024];
  // parse_reply is stateless, so re-parse only when the buffer has doubled since the last
  // try or no more bytes are waiting: a large reply then costs O(n), not O(n^2).
  size_t tried_at = 0;
  for (;;) {
    if (in_.size() > tried_at) {
      pollfd p{fd_, POLLIN, 0};
      bool more_waiting = ::poll(&p, 1, 0) == 1;
      if (in_.size() >= 2 * tried_at || !more_waiting) {
        tried_at = in_.size();
        size_t consumed = 0;
        protocol::Reply reply;
        std::string error;
        auto r = protocol::parse_reply(in_, &consumed, &reply, &error);
        if (r == protocol::ParseResult::kComplete) {
          in_.erase(0, consumed);
          return reply;
        }
        if (r == protocol::ParseResult::kError) {
          return Status::Corruption("malformed reply from server: " + error);
        }
      }
    }
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return Status::IOError("connection closed by server");
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::IOError("timed out waiting for a reply");
      return Status::IOError(std::string("recv: ") + std::strerror(errno));
    }
    in_.append(buf, static_cast<size_t>(n));
  }
}

Result<protocol::Reply> Client::call(const std::vector<std::string>& argv) {
  (void)send(argv);
  return read_reply();
}

}  // namespace kv::client
