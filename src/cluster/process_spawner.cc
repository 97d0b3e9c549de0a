#include "cluster/process_spawner.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace kv::cluster {
namespace {

void write_str(int fd, const char* s) {
  ssize_t ignored = ::write(fd, s, std::strlen(s));
  (void)ignored;
}

// Runs in the child between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(char* const* argv, char* const* envp, const char* cwd, int out_w,
                             int err_w, pid_t supervisor) {
  // Die with the supervisor. If it died before prctl took effect, we were reparented already
  // and no signal will ever come: check, and leave.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != supervisor) ::_exit(1);
  ::setpgid(0, 0);
  ::dup2(out_w, STDOUT_FILENO);
  ::dup2(err_w, STDERR_FILENO);
  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull >= 0 && devnull != STDIN_FILENO) ::dup2(devnull, STDIN_FILENO);
  ::syscall(SYS_close_range, 3u, ~0u, 0u);
  // The supervisor blocks SIGCHLD/SIGTERM/... for its signalfd and ignores SIGPIPE; exec
  // keeps both the mask and SIG_IGN, so the node must get them back to the defaults.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::chdir(cwd) != 0) {
    write_str(STDERR_FILENO, "kvcluster: cannot chdir to the cluster directory\n");
    ::_exit(127);
  }
  ::execve(argv[0], argv, envp);
  int err = errno;
  write_str(STDERR_FILENO, "kvcluster: cannot run ");
  write_str(STDERR_FILENO, argv[0]);
  write_str(STDERR_FILENO, ": ");
  write_str(STDERR_FILENO, strerrordesc_np(err));
  write_str(STDERR_FILENO, "\n");
  ::_exit(127);
}

// A null-terminated char* array over strings (which must outlive it).
std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> ptrs;
  for (auto& s : strings) ptrs.push_back(s.data());
  ptrs.push_back(nullptr);
  return ptrs;
}

}  // namespace

std::vector<std::string> child_environment(const char* const* base, const EnvVars& set) {
  std::vector<std::string> env;
  for (const char* const* p = base; p != nullptr && *p != nullptr; ++p) {
    std::string_view entry(*p);
    std::string_view name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [n, v] : set) replaced = replaced || n == name;
    if (!replaced) env.emplace_back(entry);
  }
  for (const auto& [name, value] : set) env.push_back(name + "=" + value);
  return env;
}

Result<SpawnedProcess> spawn_process(const std::vector<std::string>& argv, const std::string& cwd,
                                     const EnvVars& env) {
  if (argv.empty()) return Status::InvalidArgument("empty command line");
  // Everything the child needs is built before fork: it must not allocate.
  std::vector<std::string> strings(argv);
  std::vector<char*> ptrs = pointers(strings);
  std::vector<std::string> env_strings = child_environment(environ, env);
  std::vector<char*> env_ptrs = pointers(env_strings);

  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    return Status::IOError(fmt::format("pipe: {}", std::strerror(errno)));
  if (::pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(out[0]);
    ::close(out[1]);
    return Status::IOError(fmt::format("pipe: {}", std::strerror(e)));
  }
  pid_t supervisor = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) exec_child(ptrs.data(), env_ptrs.data(), cwd.c_str(), out[1], err[1], supervisor);
  int fork_errno = errno;
  ::close(out[1]);
  ::close(err[1]);
  if (pid < 0) {
    ::close(out[0]);
    ::close(err[0]);
    return Status::IOError(fmt::format("fork: {}", std::strerror(fork_errno)));
  }
  // Also from the parent, so the group exists before we could signal it (either call may
  // run first; EACCES after the child's exec is harmless).
  ::setpgid(pid, pid);
  ::fcntl(out[0], F_SETFL, ::fcntl(out[0], F_GETFL) | O_NONBLOCK);
  ::fcntl(err[0], F_SETFL, ::fcntl(err[0], F_GETFL) | O_NONBLOCK);
  return SpawnedProcess{pid, out[0], err[0]};
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string(abbrev) : fmt::format("SIG{}", sig);
}

std::string describe_exit(int wait_status) {
  if (WIFEXITED(wait_status)) return fmt::format("exit {}", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    return fmt::format("signal {}{}", signal_name(WTERMSIG(wait_status)),
                       WCOREDUMP(wait_status) ? " (core dumped)" : "");
  }
  return fmt::format("status {}", wait_status);
}

}  // namespace kv::cluster
