#include "chaos/process_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace kv::chaos {
namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// argv as the char* array execv wants; built before fork (no allocation in the child).
std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const std::string& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

// In the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_child(char* const* argv, int out_fd, int err_fd, int null_fd, bool own_group,
                             int death_signal) {
  if (own_group) ::setpgid(0, 0);
  if (death_signal != 0) ::prctl(PR_SET_PDEATHSIG, death_signal);
  ::dup2(null_fd, STDIN_FILENO);
  ::dup2(out_fd, STDOUT_FILENO);
  ::dup2(err_fd, STDERR_FILENO);
  // Signals the parent ignores stay ignored across exec; give the child the defaults.
  ::signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execv(argv[0], argv);
  ::_exit(127);
}

}  // namespace

Result<pid_t> spawn_process(const SpawnOptions& options) {
  if (options.argv.empty()) return Status::InvalidArgument("spawn_process: empty argv");
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) return Status::IOError(errno_text("/dev/null"));
  int out_fd = null_fd;
  if (!options.output_path.empty()) {
    out_fd = ::open(options.output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0) {
      Status s = Status::IOError(errno_text(options.output_path.c_str()));
      ::close(null_fd);
      return s;
    }
  }
  std::vector<char*> argv = c_argv(options.argv);
  const pid_t pid = ::fork();
  if (pid == 0) {
    exec_child(argv.data(), out_fd, out_fd, null_fd, options.own_process_group,
               options.parent_death_signal);
  }
  const int fork_errno = errno;
  if (out_fd != null_fd) ::close(out_fd);
  ::close(null_fd);
  if (pid < 0) return Status::IOError(std::string("fork: ") + std::strerror(fork_errno));
  // Also from the parent, so the group exists before anyone signals it.
  if (options.own_process_group) ::setpgid(pid, pid);
  return pid;
}

std::optional<int> try_reap(pid_t pid) {
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid) return status;
  if (r < 0) return 0;  // ECHILD: already reaped elsewhere; treat as exited.
  return std::nullopt;
}

std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  // Polling with a short sleep: waitpid has no timeout, and SIGCHLD handling would reach
  // into every thread of the driver.
  while (true) {
    if (auto s = try_reap(pid)) return s;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    return std::string("killed by SIG") +
           (name != nullptr ? name : std::to_string(WTERMSIG(status)));
  }
  return "status " + std::to_string(status);
}

Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout) {
  if (argv.empty()) return Status::InvalidArgument("run_command: empty argv");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::IOError(errno_text("pipe"));
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) {
    Status s = Status::IOError(errno_text("/dev/null"));
    ::close(fds[0]);
    ::close(fds[1]);
    return s;
  }
  std::vector<char*> args = c_argv(argv);
  const pid_t pid = ::fork();
  if (pid == 0) {
    exec_child(args.data(), fds[1], null_fd, null_fd, false, SIGKILL);
  }
  const int fork_errno = errno;
  ::close(fds[1]);
  ::close(null_fd);
  if (pid < 0) {
    ::close(fds[0]);
    return Status::IOError(std::string("fork: ") + std::strerror(fork_errno));
  }
  CommandOutput result;
  const auto deadline = Clock::now() + timeout;
  bool timed_out = false;
  char buf[16384];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;  // timeout is handled at the top of the loop
    const ssize_t got = ::read(fds[0], buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    result.out.append(buf, static_cast<size_t>(got));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);  // our own child, not yet reaped: the pid is still ours
  auto status = wait_for_exit(pid, timed_out ? std::chrono::milliseconds(5000) : timeout);
  if (!status) {
    ::kill(pid, SIGKILL);
    status = wait_for_exit(pid, std::chrono::milliseconds(5000));
  }
  if (timed_out) {
    return Status::IOError(argv[0] + " did not finish within " + std::to_string(timeout.count()) +
                           " ms");
  }
  result.wait_status = status.value_or(0);
  return result;
}

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  // "pid (comm) state ppid ..." where comm may hold spaces and parentheses: split after the
  // last ')'. Fields from state on: state is field 3, ppid 4, starttime 22.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 1));
  ProcStat st;
  std::string skip;
  fields >> st.state >> st.ppid;
  for (int field = 5; field < 22; ++field) fields >> skip;
  fields >> st.start_time;
  if (!fields) return std::nullopt;
  return st;
}

Status signal_process(const ProcessIdentity& who, int sig) {
  const std::string name = "pid " + std::to_string(who.pid);
  if (who.pid <= 0) return Status::InvalidArgument(name + ": not a process");
  // pidfd_open / pidfd_send_signal through syscall(2): glibc 2.36's <sys/pidfd.h> declares
  // them without extern "C", so C++ cannot link them.
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, who.pid, 0));
  if (fd < 0) {
    if (errno == ESRCH) return Status::NotFound(name + " is gone");
    return Status::IOError(errno_text(("pidfd_open " + name).c_str()));
  }
  // The pidfd pins the process that held the pid at open time. If that one dies before the
  // check below, the signal fails with ESRCH even if the pid was reused meanwhile.
  Status status;
  auto st = read_proc_stat(who.pid);
  if (!st || st->state == 'Z') {
    status = Status::NotFound(name + " is gone");
  } else if (who.parent && st->ppid != *who.parent) {
    status =
        Status::InvalidArgument(name + " is not a child of pid " + std::to_string(*who.parent));
  } else if (who.start_time && st->start_time != *who.start_time) {
    status = Status::InvalidArgument(name + " now belongs to another process");
  } else if (::syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0) != 0) {
    status = errno == ESRCH ? Status::NotFound(name + " is gone")
                            : Status::IOError(errno_text(("signal " + name).c_str()));
  }
  ::close(fd);
  return status;
}

Result<std::vector<uint16_t>> pick_free_ports(size_t n) {
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  Status status;
  for (size_t i = 0; i < n && status.ok(); ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      status = Status::IOError(errno_text("socket"));
      break;
    }
    fds.push_back(fd);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      status = Status::IOError(errno_text("picking a free port"));
      break;
    }
    ports.push_back(ntohs(a.sin_port));
  }
  for (int fd : fds) ::close(fd);
  if (!status.ok()) return status;
  return ports;
}

}  // namespace kv::chaos
