// fake_node: a stand-in for kvstore in the supervisor's tests (cluster.json "kvstore" points
// here). It accepts (and ignores) kvstore's --data-dir/--fsync and the raft-mode
// --id/--peers/--cluster-secret/--join, takes --port and --bind (an IPv4 address, default
// 127.0.0.1),
// and what its INFO says about Raft: --role (follower), --term (7), --leader-id (2); "none"
// leaves the field out. Then it does, in order:
//   --print TEXT      a line on stdout          --eprint TEXT   a line on stderr
//   --partial TEXT    TEXT on stdout, no '\n'   --lines N --line-bytes B
//                     N lines of about B bytes as fast as possible, in writes that cut lines
//                     anywhere: "L:<port>:<seq>:<B x one letter>:END"
//   --listen          answer PING (+PONG) and INFO on --port; AUTH and RAFT ... get +OK,
//                     anything else -ERR
//   --ignore-term     ignore SIGTERM (to test the SIGKILL after the stop timeout)
//   --exit CODE       exit with CODE once the above is done
//   --crash abort|segv
// Without --exit/--crash it stays up until a signal ends it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

struct RaftView {
  std::string role = "follower", term = "7", leader_id = "2";
};
RaftView g_raft;

int listen_on(const std::string& bind, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, bind.c_str(), &a.sin_addr) != 1) {
    std::fprintf(stderr, "fake_node: --bind %s is not an IPv4 address\n", bind.c_str());
    std::exit(2);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd, 16) != 0) {
    std::fprintf(stderr, "fake_node: cannot listen on %s:%d: %s\n", bind.c_str(), port,
                 std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

// The first request in buf as its arguments, erased from buf; false while incomplete.
bool take_request(std::string* buf, std::vector<std::string>* argv) {
  argv->clear();
  size_t pos = 0;
  auto line = [&](char type, long* value) {
    if (pos >= buf->size() || (*buf)[pos] != type) return false;
    size_t end = buf->find("\r\n", pos);
    if (end == std::string::npos) return false;
    *value = std::atol(buf->substr(pos + 1, end - pos - 1).c_str());
    pos = end + 2;
    return true;
  };
  long count = 0;
  if (!line('*', &count)) return false;
  for (long i = 0; i < count; ++i) {
    long len = 0;
    if (!line('$', &len) || pos + static_cast<size_t>(len) + 2 > buf->size()) return false;
    argv->push_back(buf->substr(pos, static_cast<size_t>(len)));
    pos += static_cast<size_t>(len) + 2;
  }
  buf->erase(0, pos);
  return true;
}

// Answers every complete request in buf; keeps the rest.
void answer(int fd, std::string* buf) {
  std::vector<std::string> argv;
  while (take_request(buf, &argv)) {
    std::string cmd = argv.empty() ? "" : argv[0];
    for (char& ch : cmd) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (cmd == "PING") {
      write_all(fd, "+PONG\r\n");
    } else if (cmd == "INFO") {
      std::string info = "# Server\r\nprocess_id:" + std::to_string(::getpid()) +
                         "\r\nuptime_in_seconds:3\r\n\r\n# Raft\r\n";
      if (g_raft.role != "none") info += "role:" + g_raft.role + "\r\n";
      if (g_raft.term != "none") info += "term:" + g_raft.term + "\r\n";
      if (g_raft.leader_id != "none") info += "leader_id:" + g_raft.leader_id + "\r\n";
      write_all(fd, "$" + std::to_string(info.size()) + "\r\n" + info + "\r\n");
    } else if (cmd == "AUTH" || cmd == "RAFT") {
      write_all(fd, "+OK\r\n");
    } else {
      write_all(fd, "-ERR unknown command\r\n");
    }
  }
}

[[noreturn]] void serve(int listen_fd) {
  std::vector<pollfd> fds = {{listen_fd, POLLIN, 0}};
  std::vector<std::string> bufs = {""};
  for (;;) {
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;
    for (size_t i = fds.size(); i-- > 0;) {
      if (fds[i].revents == 0) continue;
      if (i == 0) {
        int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
          fds.push_back({c, POLLIN, 0});
          bufs.emplace_back();
        }
        continue;
      }
      char tmp[4096];
      ssize_t n = ::read(fds[i].fd, tmp, sizeof(tmp));
      if (n <= 0) {
        ::close(fds[i].fd);
        fds.erase(fds.begin() + static_cast<long>(i));
        bufs.erase(bufs.begin() + static_cast<long>(i));
        continue;
      }
      bufs[i].append(tmp, static_cast<size_t>(n));
      answer(fds[i].fd, &bufs[i]);
    }
  }
}

void write_lines(int port, long count, long bytes) {
  std::string out;
  for (long seq = 0; seq < count; ++seq) {
    out += "L:" + std::to_string(port) + ":" + std::to_string(seq) + ":";
    out.append(static_cast<size_t>(bytes), static_cast<char>('a' + seq % 26));
    out += ":END\n";
    // Odd-sized writes: lines are cut at arbitrary points between writes.
    while (out.size() >= 4093) {
      write_all(STDOUT_FILENO, out.substr(0, 4093));
      out.erase(0, 4093);
    }
  }
  write_all(STDOUT_FILENO, out);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  int port = 0;
  std::string bind = "127.0.0.1";
  long lines = 0, line_bytes = 100;
  bool listen = false;
  int exit_code = -1;
  std::string crash;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto next = [&]() -> std::string { return i + 1 < args.size() ? args[++i] : ""; };
    if (a == "--join") continue;  // accepted and ignored, like --id and --peers
    if (a == "--port")
      port = std::atoi(next().c_str());
    else if (a == "--data-dir" || a == "--fsync" || a == "--id" || a == "--peers" ||
             a == "--cluster-secret")
      next();
    else if (a == "--bind")
      bind = next();
    else if (a == "--role")
      g_raft.role = next();
    else if (a == "--term")
      g_raft.term = next();
    else if (a == "--leader-id")
      g_raft.leader_id = next();
    else if (a == "--print")
      write_all(STDOUT_FILENO, next() + "\n");
    else if (a == "--eprint")
      write_all(STDERR_FILENO, next() + "\n");
    else if (a == "--partial")
      write_all(STDOUT_FILENO, next());
    else if (a == "--lines")
      lines = std::atol(next().c_str());
    else if (a == "--line-bytes")
      line_bytes = std::atol(next().c_str());
    else if (a == "--listen")
      listen = true;
    else if (a == "--ignore-term")
      ::signal(SIGTERM, SIG_IGN);
    else if (a == "--exit")
      exit_code = std::atoi(next().c_str());
    else if (a == "--crash")
      crash = next();
    else {
      std::fprintf(stderr, "fake_node: unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (lines > 0) write_lines(port, lines, line_bytes);
  if (crash == "abort") std::abort();
  if (crash == "segv") {
    ::signal(SIGSEGV, SIG_DFL);  // under ASan: a real signal death, not its report
    ::raise(SIGSEGV);
  }
  if (exit_code >= 0) return exit_code;
  if (listen) serve(listen_on(bind, port));
  for (;;) ::pause();
}
