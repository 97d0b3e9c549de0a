// spawn_process(): fork/exec of one node, wired the way a supervisor needs it:
//  - its own process group (pgid == pid), so Ctrl-C in the terminal reaches only the
//    supervisor, and a stop signal reaches the node and anything it forked;
//  - PR_SET_PDEATHSIG(SIGKILL), so no node outlives a SIGKILLed supervisor (with the
//    getppid() check that closes the fork/prctl race);
//  - stdout and stderr on two non-blocking pipes the caller reads; stdin from /dev/null;
//  - a clean signal mask and dispositions, no inherited descriptors beyond 0-2.
// The child is reaped by the caller (waitpid WNOHANG on SIGCHLD). Stateless.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace kv::cluster {

struct SpawnedProcess {
  pid_t pid = -1;
  int stdout_fd = -1;  // read ends, non-blocking, close-on-exec; owned by the caller
  int stderr_fd = -1;
};

// Starts argv[0] (a path) in directory cwd. An exec failure shows up as the child writing
// "kvcluster: cannot run PATH: REASON" on its stderr and exiting 127.
Result<SpawnedProcess> spawn_process(const std::vector<std::string>& argv, const std::string& cwd);

// "exit 0", "exit 1", "signal KILL", "signal SEGV (core dumped)" from a waitpid status.
std::string describe_exit(int wait_status);
// "KILL" for SIGKILL; "SIG37" for numbers without a name.
std::string signal_name(int sig);

}  // namespace kv::cluster
