// Pieces both end-to-end harnesses (tests/e2e, tests/cluster) need to fork/exec the real
// binaries: argv storage built before fork, the child's set-up between fork and exec, and
// the decoding of a wait status. Header-only; no shared state.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <string>
#include <vector>

namespace kv::testing {

// Owns the argv strings and the char* array execv needs; built before fork so the child
// only calls async-signal-safe functions.
struct ExecArgs {
  explicit ExecArgs(const std::vector<std::string>& argv) : strings(argv) {
    for (auto& s : strings) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  std::vector<std::string> strings;
  std::vector<char*> ptrs;
};

// In the child, between fork and exec: a clean signal state, and death with the test
// process so no started binary outlives a crashed test.
inline void prepare_child() {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
}

// Exit code, or 128 + signal number for a killed process, -1 otherwise (shell convention).
inline int decode_wait_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace kv::testing
