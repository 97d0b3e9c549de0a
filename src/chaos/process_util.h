// Child processes for the chaos driver: start one in its own process group, run a short
// command and capture its output, wait with a deadline, and read /proc facts (parent pid,
// start time) so that signals go only to processes this run started. Safe to call from
// several threads; spawning uses only async-signal-safe calls between fork and exec.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace kv::chaos {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is the program path (no PATH lookup)
  std::string output_path;        // stdout and stderr append here; empty: /dev/null
  bool own_process_group = true;  // setpgid(0, 0): the terminal's Ctrl-C does not reach it
  int parent_death_signal = 0;    // PR_SET_PDEATHSIG, when non-zero
};

// Starts the child; IOError when fork fails or the output file cannot be opened. A failing
// exec shows up as exit code 127.
Result<pid_t> spawn_process(const SpawnOptions& options);

// Reaps `pid` if it has exited. nullopt while it runs; otherwise its wait status.
std::optional<int> try_reap(pid_t pid);
// Waits up to timeout for `pid` to exit and reaps it; nullopt if it is still running.
std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout);
// "exit code 1", "killed by SIGKILL".
std::string describe_wait_status(int status);

struct CommandOutput {
  int wait_status = 0;
  std::string out;  // stdout only; stderr is discarded
};
// Runs argv to completion and returns its stdout; the child is SIGKILLed (and the call fails)
// if it takes longer than timeout.
Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout);

// What /proc/<pid>/stat says about a live process.
struct ProcStat {
  pid_t ppid = 0;
  char state = '?';         // R, S, T (stopped), Z, ...
  uint64_t start_time = 0;  // clock ticks since boot: with the pid, identifies the process
};
std::optional<ProcStat> read_proc_stat(pid_t pid);

// Which process a signal is meant for: the pid, and what must still hold for it.
struct ProcessIdentity {
  pid_t pid = 0;
  std::optional<pid_t> parent;         // its parent must be this pid
  std::optional<uint64_t> start_time;  // its /proc start time must be this (pid not reused)
};
// Sends sig to who.pid only if the live process there matches who. Race-free against pid
// reuse: the process is pinned with a pidfd before it is checked, and the signal goes
// through that pidfd. NotFound when it is gone (or a zombie), InvalidArgument when another
// process holds the pid, IOError when the signal cannot be sent.
Status signal_process(const ProcessIdentity& who, int sig);

// A free TCP port on 127.0.0.1 (bind port 0, read the port, close) for each of n sockets held
// open together, so the n ports are distinct. Another process may take one before it is used.
Result<std::vector<uint16_t>> pick_free_ports(size_t n);

}  // namespace kv::chaos
