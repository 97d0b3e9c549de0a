#include "cluster/control_channel.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kv::cluster {
namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

Result<int> connect_unix(const std::string& path) {
  sockaddr_un addr{};
  socklen_t len = 0;
  int dir_fd = -1;
  if (Status s = unix_address(path, &addr, &len, &dir_fd); !s.ok()) return s;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError(fmt::format("socket: {}", std::strerror(errno)));
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
  int err = errno;
  if (dir_fd >= 0) ::close(dir_fd);
  if (rc != 0) {
    ::close(fd);
    if (err == ENOENT || err == ECONNREFUSED) return Status::NotFound("no supervisor is running");
    return Status::IOError(fmt::format("connect {}: {}", path, std::strerror(err)));
  }
  return fd;
}

}  // namespace

std::string control_socket_path(const std::string& state_dir) {
  return state_dir + "/control.sock";
}

Status unix_address(const std::string& path, sockaddr_un* addr, socklen_t* len, int* dir_fd) {
  *dir_fd = -1;
  addr->sun_family = AF_UNIX;
  std::string target = path;
  if (target.size() >= sizeof(addr->sun_path)) {
    auto slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    *dir_fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*dir_fd < 0) return Status::IOError(fmt::format("open {}: {}", dir, std::strerror(errno)));
    target = fmt::format("/proc/self/fd/{}/{}", *dir_fd, path.substr(slash + 1));
    if (target.size() >= sizeof(addr->sun_path)) {
      return Status::InvalidArgument(fmt::format("socket name too long: {}", path));
    }
  }
  std::memcpy(addr->sun_path, target.c_str(), target.size() + 1);
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + target.size() + 1);
  return Status::OK();
}

Result<nlohmann::json> control_request_and_wait(const std::string& socket_path,
                                                const nlohmann::json& request,
                                                std::chrono::milliseconds timeout,
                                                std::chrono::milliseconds wait, bool* closed) {
  if (closed != nullptr) *closed = false;
  auto fd = connect_unix(socket_path);
  if (!fd.ok()) return fd.status();
  auto deadline = Clock::now() + timeout;
  std::string out = request.dump() + "\n";
  std::string in;
  Status failure = Status::OK();
  size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = ::send(*fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failure = Status::IOError(fmt::format("send: {}", std::strerror(errno)));
      break;
    }
    sent += static_cast<size_t>(n);
  }
  size_t nl = std::string::npos;
  bool eof = false;
  while (failure.ok() && nl == std::string::npos) {
    pollfd p{*fd, POLLIN, 0};
    int r = ::poll(&p, 1, ms_left(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      failure = Status::IOError("the supervisor did not answer in time");
      break;
    }
    char buf[65536];
    ssize_t n = ::recv(*fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;
      failure = Status::IOError("the supervisor closed the connection without answering");
      break;
    }
    in.append(buf, static_cast<size_t>(n));
    nl = in.find('\n');
  }
  nlohmann::json reply;
  if (failure.ok()) {
    try {
      reply = nlohmann::json::parse(in.substr(0, nl));
    } catch (const nlohmann::json::exception& e) {
      failure = Status::IOError(fmt::format("bad reply from the supervisor: {}", e.what()));
    }
  }
  if (failure.ok() && closed != nullptr && !eof) {
    auto wait_deadline = Clock::now() + wait;
    for (;;) {
      pollfd p{*fd, POLLIN, 0};
      int r = ::poll(&p, 1, ms_left(wait_deadline));
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) break;
      char buf[4096];
      ssize_t n = ::recv(*fd, buf, sizeof(buf), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        *closed = true;
        break;
      }
    }
  }
  ::close(*fd);
  if (!failure.ok()) return failure;
  return reply;
}

Result<nlohmann::json> control_request(const std::string& socket_path,
                                       const nlohmann::json& request,
                                       std::chrono::milliseconds timeout) {
  return control_request_and_wait(socket_path, request, timeout, std::chrono::milliseconds(0),
                                  nullptr);
}

}  // namespace kv::cluster
