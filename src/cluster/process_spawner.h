// spawn_process(): fork/exec of one node, wired the way a supervisor needs it:
//  - its own process group (pgid == pid), so Ctrl-C in the terminal reaches only the
//    supervisor, and a stop signal reaches the node and anything it forked;
//  - PR_SET_PDEATHSIG(SIGKILL), so no node outlives a SIGKILLed supervisor (with the
//    getppid() check that closes the fork/prctl race);
//  - stdout and stderr on two non-blocking pipes the caller reads; stdin from /dev/null;
//  - a clean signal mask and dispositions, no inherited descriptors beyond 0-2;
//  - the supervisor's environment plus the variables the caller sets (the cluster secret
//    travels this way: unlike argv, /proc/PID/environ is readable only by the owner).
// The child is reaped by the caller (waitpid WNOHANG on SIGCHLD). Stateless.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace kv::cluster {

struct SpawnedProcess {
  pid_t pid = -1;
  int stdout_fd = -1;  // read ends, non-blocking, close-on-exec; owned by the caller
  int stderr_fd = -1;
};

// Environment variables to set in the child: name, value.
using EnvVars = std::vector<std::pair<std::string, std::string>>;

// The child's environment as execve wants it ("NAME=value" strings): every entry of base
// (a null-terminated array such as environ; may be null) in order, except that a variable
// named in set takes set's value (in set's order, at the end). Pure.
std::vector<std::string> child_environment(const char* const* base, const EnvVars& set);

// Starts argv[0] (a path) in directory cwd, with child_environment(environ, env). An exec
// failure shows up as the child writing "kvcluster: cannot run PATH: REASON" on its stderr
// and exiting 127.
Result<SpawnedProcess> spawn_process(const std::vector<std::string>& argv, const std::string& cwd,
                                     const EnvVars& env = {});

// "exit 0", "exit 1", "signal KILL", "signal SEGV (core dumped)" from a waitpid status.
std::string describe_exit(int wait_status);
// "KILL" for SIGKILL; "SIG37" for numbers without a name.
std::string signal_name(int sig);

}  // namespace kv::cluster
