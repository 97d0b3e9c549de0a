#include "e2e/harness.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "net/socket_util.h"
#include "testing/child_process.h"
#include "protocol/resp_reply.h"

namespace kv::e2e {

using kv::testing::decode_wait_status;
using kv::testing::ExecArgs;

namespace {

// In the child, between fork and exec: the shared set-up, and no inherited descriptors
// beyond 0-2.
void prepare_child() {
  kv::testing::prepare_child();
  ::syscall(SYS_close_range, 3u, ~0u, 0u);
}

}  // namespace

std::string bin_path(const std::string& name) { return std::string(KV_BIN_DIR) + "/" + name; }

bool is_executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

Process::Process(const std::vector<std::string>& argv, const std::string& log_path)
    : log_path_(log_path) {
  REQUIRE(!argv.empty());
  ExecArgs args(argv);
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  REQUIRE_MESSAGE(log_fd >= 0, "open " << log_path << ": " << std::strerror(errno));
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    prepare_child();
    ::execv(args.ptrs[0], args.ptrs.data());
    ::_exit(127);
  }
  ::close(log_fd);
  REQUIRE_MESSAGE(pid_ > 0, "fork: " << std::strerror(errno));
}

Process::~Process() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

std::string Process::log() const { return read_file(log_path_); }

bool Process::reap(int flags) {
  if (exit_code_) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, flags);
  if (r == pid_) {
    exit_code_ = decode_wait_status(status);
    return true;
  }
  return false;
}

bool Process::running() { return !reap(WNOHANG); }

void Process::signal(int sig) {
  if (!exit_code_) ::kill(pid_, sig);
}

std::optional<int> Process::wait_exit(std::chrono::milliseconds timeout) {
  eventually([&] { return reap(WNOHANG); }, timeout);
  return exit_code_;
}

std::optional<std::string> Process::wait_for_line(const std::regex& pattern,
                                                  std::chrono::milliseconds timeout) {
  std::optional<std::string> found;
  auto search = [&] {
    std::istringstream lines(log());
    std::string line;
    while (std::getline(lines, line)) {
      if (std::regex_search(line, pattern)) {
        found = line;
        return true;
      }
    }
    return false;
  };
  eventually([&] {
    bool exited = !running();
    // Search after checking for exit: whatever an exited process wrote is all there is.
    return search() || exited;
  }, timeout);
  return found;
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  REQUIRE(!argv.empty());
  ExecArgs args(argv);
  int out_pipe[2], err_pipe[2];
  REQUIRE(::pipe2(out_pipe, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(err_pipe, O_CLOEXEC) == 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    prepare_child();
    ::execv(args.ptrs[0], args.ptrs.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  REQUIRE_MESSAGE(pid > 0, "fork: " << std::strerror(errno));

  CommandResult result;
  const auto deadline = Clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_pipes = 2;
  bool timed_out = false;
  while (open_pipes > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[8192];
      ssize_t r = ::read(fds[i].fd, buf, sizeof(buf));
      if (r > 0) {
        sinks[i]->append(buf, static_cast<size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_pipes;
      }
    }
  }
  for (auto& p : fds) {
    if (p.fd >= 0) ::close(p.fd);
  }
  int status = 0;
  if (timed_out) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    result.exit_code = -1;
    return result;
  }
  // Both pipes are closed: the child has exited or is about to; reap within the deadline.
  pid_t r = 0;
  eventually([&] { return (r = ::waitpid(pid, &status, WNOHANG)) == pid; },
             std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()) + 1s);
  if (r != pid) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    result.exit_code = -1;
    return result;
  }
  result.exit_code = decode_wait_status(status);
  return result;
}

Node start_kvstore(const std::string& data_dir, const std::vector<std::string>& extra_args) {
  static std::atomic<int> counter{0};
  std::vector<std::string> argv = {bin_path("kvstore"), "--port", "0", "--data-dir", data_dir};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  std::string log_path = data_dir + ".log." + std::to_string(counter++);
  Node node;
  node.process = std::make_unique<Process>(argv, log_path);
  static const std::regex kListening(R"(^\[node\] listening on port (\d+)$)");
  auto line = node.process->wait_for_line(kListening, 30s);
  REQUIRE_MESSAGE(line.has_value(), "kvstore did not come up; its output:\n" << node.process->log());
  std::smatch m;
  std::regex_search(*line, m, kListening);
  node.port = static_cast<uint16_t>(std::stoi(m[1].str()));
  REQUIRE(node.port != 0);
  return node;
}

uint64_t raise_fd_limit(uint64_t want) {
  rlimit rl{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &rl) == 0);
  if (rl.rlim_cur < want) {
    rl.rlim_cur = std::min<rlim_t>(want, rl.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &rl);
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &rl) == 0);
  }
  return rl.rlim_cur;
}

int64_t file_size(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_size);
}

void append_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  REQUIRE(out.good());
}

std::string resp_command(const std::vector<std::string>& argv) {
  std::string out = "*" + std::to_string(argv.size()) + "\r\n";
  for (const auto& a : argv) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
  return out;
}

RawConn::RawConn(uint16_t port) {
  auto fd = net::connect_tcp("127.0.0.1", port, 5s);
  REQUIRE_MESSAGE(fd.ok(), "connect to port " << port << ": " << fd.status().ToString());
  fd_ = *fd;
  ::fcntl(fd_, F_SETFD, FD_CLOEXEC);
}

RawConn::~RawConn() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConn::send(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

int RawConn::read_some(Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return -1;
    pollfd p{fd_, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[64 * 1024];
    ssize_t r = ::recv(fd_, buf, sizeof(buf), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno == ECONNRESET ? 0 : -1;
    in_.append(buf, static_cast<size_t>(r));
    return r > 0 ? 1 : 0;
  }
}

std::optional<std::string> RawConn::read_reply(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (pos_ < in_.size()) {
      size_t consumed = 0;
      protocol::Reply reply;
      std::string error;
      auto r = protocol::parse_reply(std::string_view(in_).substr(pos_), &consumed, &reply, &error);
      if (r == protocol::ParseResult::kComplete) {
        std::string bytes = in_.substr(pos_, consumed);
        pos_ += consumed;
        // Drop consumed bytes only now and then, so many small replies stay O(n) overall.
        if (pos_ == in_.size() || pos_ > (1u << 20)) {
          in_.erase(0, pos_);
          pos_ = 0;
        }
        return bytes;
      }
      if (r == protocol::ParseResult::kError) return std::nullopt;
    }
    if (read_some(deadline) <= 0) return std::nullopt;
  }
}

std::string RawConn::call(const std::vector<std::string>& argv) {
  if (!send(resp_command(argv))) return "";
  return read_reply().value_or("");
}

bool RawConn::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int r = read_some(deadline);
    if (r == 0) return true;
    if (r < 0) return false;
  }
}

client::Client connect_client(uint16_t port) {
  auto c = client::Client::connect("127.0.0.1", port);
  REQUIRE_MESSAGE(c.ok(), "connect to port " << port << ": " << c.status().ToString());
  c->set_timeout(20s);
  return std::move(c).value();
}

protocol::Reply must_call(client::Client& c, const std::vector<std::string>& argv) {
  auto r = c.call(argv);
  REQUIRE_MESSAGE(r.ok(), argv[0] << ": " << r.status().ToString());
  return std::move(r).value();
}

std::string node_info(uint16_t port, const std::string& section) {
  auto c = connect_client(port);
  auto r = must_call(c, {"INFO", section});
  REQUIRE(r.type == protocol::Reply::Type::kBulkString);
  return r.str;
}

std::optional<std::string> info_field(const std::string& info, const std::string& field) {
  std::istringstream lines(info);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind(field + ":", 0) == 0) return line.substr(field.size() + 1);
  }
  return std::nullopt;
}

std::vector<uint16_t> pick_free_ports(size_t n) {
  std::vector<uint16_t> ports;
  for (int attempts = 0; ports.size() < n; ++attempts) {
    REQUIRE_MESSAGE(attempts < 1000, "could not find " << n << " distinct free ports");
    uint16_t p = pick_free_port();
    if (std::find(ports.begin(), ports.end(), p) == ports.end()) ports.push_back(p);
  }
  return ports;
}

std::optional<uint16_t> wait_listening(Process& process, std::chrono::milliseconds timeout) {
  static const std::regex kListening(R"(^\[node\] listening on port (\d+)$)");
  auto line = process.wait_for_line(kListening, timeout);
  if (!line) return std::nullopt;
  std::smatch m;
  std::regex_search(*line, m, kListening);
  return static_cast<uint16_t>(std::stoi(m[1].str()));
}

std::optional<std::string> try_node_info(uint16_t port, const std::string& section,
                                         std::chrono::milliseconds timeout) {
  auto c = client::Client::connect("127.0.0.1", port, timeout);
  if (!c.ok()) return std::nullopt;
  c->set_timeout(timeout);
  auto r = c->call({"INFO", section});
  if (!r.ok() || r->type != protocol::Reply::Type::kBulkString) return std::nullopt;
  return std::move(r->str);
}

std::string tail_lines(const std::string& text, size_t count) {
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (size_t seen = 0; pos > 0; --pos) {
    if (text[pos - 1] == '\n' && ++seen == count) break;
  }
  return text.substr(pos);
}

}  // namespace kv::e2e
