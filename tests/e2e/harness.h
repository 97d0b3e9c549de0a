// End-to-end test harness: drives the real binaries (build/kvstore, build/kv_client, and
// redis-server/redis-cli when installed) from outside, like Redis's Tcl suite.
// TempDir and Process own what they create and clean it up in their destructors, so a failed
// CHECK never leaves a directory or a running process behind. Nothing here is shared between
// threads except RawConn objects, each of which one thread owns.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "testing/test_util.h"
#include "protocol/resp_reply.h"

namespace kv::e2e {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Path of a binary built next to the tests (KV_BIN_DIR), e.g. bin_path("kvstore").
std::string bin_path(const std::string& name);

// Whether an executable exists at path (e.g. "/usr/bin/redis-server").
bool is_executable(const std::string& path);

using kv::testing::TempDir;
using kv::testing::eventually;
using kv::testing::pick_free_port;
using kv::testing::read_file;
using kv::testing::write_file;

// A child process started with fork/exec; stdout and stderr both go to log_path.
// The destructor SIGKILLs and reaps it if it is still running.
class Process {
 public:
  // Starts argv[0] (a path) with the rest as arguments. CHECK-fails if fork fails.
  Process(const std::vector<std::string>& argv, const std::string& log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // Everything the process wrote to stdout/stderr so far.
  std::string log() const;

  // Re-reads the log until a line matches pattern (returns that line), the process exits
  // (returns nullopt once no matching line is left), or timeout passes (nullopt).
  std::optional<std::string> wait_for_line(const std::regex& pattern,
                                           std::chrono::milliseconds timeout = 10s);

  void signal(int sig);
  // Waits for exit up to timeout. Returns the exit code, or 128 + signal number if it was
  // killed by a signal; nullopt on timeout (the process is left running).
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = 10s);
  bool running();

 private:
  bool reap(int flags);

  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> exit_code_;
};

struct CommandResult {
  int exit_code = -1;  // 128 + signal if killed; -1 if it had to be killed after timeout
  std::string out;
  std::string err;
};

// Runs argv to completion, capturing stdout and stderr separately. A run longer than
// timeout is SIGKILLed and reported with exit_code -1.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = 30s);

// A started kvstore node and the port it printed on its `[node] listening on port N` line.
struct Node {
  std::unique_ptr<Process> process;
  uint16_t port = 0;  // 0 if it never printed the line
};

// Starts build/kvstore --port 0 --data-dir data_dir extra_args..., logging to
// <data_dir>.log.<n>, and waits for its listening line. CHECK-fails if it does not come up.
Node start_kvstore(const std::string& data_dir, const std::vector<std::string>& extra_args = {});

// Raises this process's RLIMIT_NOFILE soft limit to at least want (up to the hard limit);
// returns the resulting soft limit.
uint64_t raise_fd_limit(uint64_t want);

// Reads a whole file (empty if missing); file size or -1.
int64_t file_size(const std::string& path);
void append_file(const std::string& path, const std::string& data);

// RESP2 encoding of a command, as any client sends it.
std::string resp_command(const std::vector<std::string>& argv);

// A raw TCP connection for byte-level protocol tests. Not thread-safe; owns its fd.
class RawConn {
 public:
  explicit RawConn(uint16_t port);  // CHECK-fails if the connect fails
  ~RawConn();
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  int fd() const { return fd_; }
  // Sends all of bytes; false if the peer is gone.
  bool send(const std::string& bytes);
  // Reads until one complete RESP reply is buffered and returns its exact bytes; nullopt on
  // timeout, EOF or a malformed reply.
  std::optional<std::string> read_reply(std::chrono::milliseconds timeout = 10s);
  // Sends the command and returns the raw reply bytes ("" if none came).
  std::string call(const std::vector<std::string>& argv);
  // Reads until the peer closes the connection (true) or timeout (false). Whatever arrived
  // is appended to the buffer returned by buffered().
  bool wait_closed(std::chrono::milliseconds timeout = 10s);
  std::string buffered() const { return in_.substr(pos_); }

 private:
  // One recv into in_ within the deadline: >0 bytes, 0 EOF, -1 timeout/error.
  int read_some(Clock::time_point deadline);

  int fd_ = -1;
  std::string in_;
  size_t pos_ = 0;  // bytes of in_ already returned by read_reply
};

// A kv::client::Client connected to 127.0.0.1:port; CHECK-fails if it cannot connect.
client::Client connect_client(uint16_t port);
// c.call(argv), CHECK-failing on a broken connection (a -ERR reply is returned, not failed).
protocol::Reply must_call(client::Client& c, const std::vector<std::string>& argv);
// INFO <section> of the node on port, as text.
std::string node_info(uint16_t port, const std::string& section = "persistence");

// The value of "field:" in an INFO text (e.g. "snapshots_taken"); nullopt if absent.
std::optional<std::string> info_field(const std::string& info, const std::string& field);

// --- Helpers for multi-node (Raft mode) tests ---

// n distinct loopback ports that were free a moment ago (see pick_free_port).
std::vector<uint16_t> pick_free_ports(size_t n);

// The port on the process's `[node] listening on port N` line once it prints it; nullopt if
// the process exits first or timeout passes.
std::optional<uint16_t> wait_listening(Process& process, std::chrono::milliseconds timeout = 30s);

// INFO <section> of the node on port, or nullopt if the node cannot be reached or does not
// answer within timeout. Unlike node_info it never fails the test: for polling nodes that
// may be down, restarting or busy.
std::optional<std::string> try_node_info(uint16_t port, const std::string& section,
                                         std::chrono::milliseconds timeout = 1s);

// The last `count` lines of text (all of it if shorter), for failure messages.
std::string tail_lines(const std::string& text, size_t count);

}  // namespace kv::e2e
