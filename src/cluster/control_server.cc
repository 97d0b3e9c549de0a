#include "cluster/control_server.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cluster/control_channel.h"

namespace kv::cluster {
namespace {

constexpr size_t kMaxRequest = 64 * 1024;

// Replies are small; a client that does not read them within a second is dropped.
void send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 1000) <= 0) return;
    } else if (!(n < 0 && errno == EINTR)) {
      return;
    }
  }
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::listen(net::EventLoop* loop,
                                                             const std::string& path,
                                                             Handler handler) {
  sockaddr_un addr{};
  socklen_t len = 0;
  int dir_fd = -1;
  if (Status s = unix_address(path, &addr, &len, &dir_fd); !s.ok()) return s;
  ::unlink(path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError(fmt::format("socket: {}", std::strerror(errno)));
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len);
  int err = errno;
  if (dir_fd >= 0) ::close(dir_fd);
  if (rc != 0 || ::listen(fd, 64) != 0) {
    if (rc == 0) err = errno;
    ::close(fd);
    return Status::IOError(fmt::format("cannot listen on {}: {}", path, std::strerror(err)));
  }
  std::unique_ptr<ControlServer> server(new ControlServer(loop, path, fd, std::move(handler)));
  if (Status s = loop->add(fd, EPOLLIN, [raw = server.get()](uint32_t) { raw->accept_all(); });
      !s.ok()) {
    return s;
  }
  return server;
}

ControlServer::ControlServer(net::EventLoop* loop, std::string path, int fd, Handler handler)
    : loop_(loop), path_(std::move(path)), listen_fd_(fd), handler_(std::move(handler)) {}

void ControlServer::close_listener() {
  if (listen_fd_ < 0) return;
  loop_->remove(listen_fd_);
  ::close(listen_fd_);
  listen_fd_ = -1;
  ::unlink(path_.c_str());
}

ControlServer::~ControlServer() {
  close_listener();
  for (auto& [fd, buf] : conns_) {
    loop_->remove(fd);
    ::close(fd);
  }
  for (int fd : held_) ::close(fd);
  for (auto& [token, fd] : deferred_) ::close(fd);
}

void ControlServer::accept_all() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error: the next event retries
    if (!loop_->add(fd, EPOLLIN, [this, fd](uint32_t) { on_readable(fd); }).ok()) {
      ::close(fd);
      continue;
    }
    conns_[fd];
  }
}

void ControlServer::on_readable(int fd) {
  std::string& buf = conns_[fd];
  char chunk[4096];
  ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) return close_conn(fd);
  buf.append(chunk, static_cast<size_t>(n));
  size_t nl = buf.find('\n');
  if (nl == std::string::npos) {
    if (buf.size() > kMaxRequest) close_conn(fd);
    return;
  }
  Reply reply;
  uint64_t token = next_token_++;
  deferred_[token] = fd;  // before the handler runs: it may answer at once through `later`
  Responder later = [this, alive = std::weak_ptr<bool>(alive_), token](const nlohmann::json& body) {
    if (!alive.expired()) answer_later(token, body);
  };
  try {
    reply = handler_(nlohmann::json::parse(buf.substr(0, nl)), later);
  } catch (const nlohmann::json::exception& e) {
    reply =
        Reply{{{"ok", false}, {"error", std::string("bad request: ") + e.what()}}, false, false};
  }
  if (reply.deferred) {
    if (deferred_.count(token) != 0) {
      // Parked: no more reading; answer_later writes and closes.
      loop_->remove(fd);
      conns_.erase(fd);
    }
    return;
  }
  deferred_.erase(token);
  send_all(fd, reply.body.dump() + "\n");
  if (reply.hold_open) {
    loop_->remove(fd);
    conns_.erase(fd);
    held_.push_back(fd);
    return;
  }
  close_conn(fd);
}

void ControlServer::answer_later(uint64_t token, const nlohmann::json& body) {
  auto it = deferred_.find(token);
  if (it == deferred_.end()) return;
  int fd = it->second;
  deferred_.erase(it);
  send_all(fd, body.dump() + "\n");
  if (conns_.count(fd) != 0) {
    close_conn(fd);  // answered from inside the handler: still registered
  } else {
    ::close(fd);
  }
}

void ControlServer::close_conn(int fd) {
  loop_->remove(fd);
  ::close(fd);
  conns_.erase(fd);
}

}  // namespace kv::cluster
