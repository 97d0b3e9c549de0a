// Test harness for kvcluster end-to-end tests: temp cluster directories with cluster.json on
// OS-chosen ports, a supervisor process (`kvcluster up`) whose output goes to a file, one-shot
// command runs, and condition waits with deadlines. Everything started here is killed by pid
// in destructors, and every node pid a test saw is killed too, so a failed CHECK leaves no
// process behind. Single-threaded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "testing/test_util.h"

namespace kv::cluster::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string kvcluster_bin();
std::string kvstore_bin();
std::string fake_node_bin();

using kv::testing::pick_free_port;
using kv::testing::read_file;
using kv::testing::TempDir;
using kv::testing::eventually;
using kv::testing::write_file;

// Writes via a temp file and rename, the way editors save (what the config watch must see).
void write_file_atomic(const std::string& path, const std::string& data);

// True once the process is gone (no such pid, or a zombie nobody reaped yet).
bool pid_gone(pid_t pid);

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};
CommandResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 30s);

// A cluster directory: cluster.json plus the supervisor running on it.
class TestCluster {
 public:
  TestCluster();
  ~TestCluster();  // SIGKILLs the supervisor and every node pid ever seen

  std::string config_path() const { return dir_.sub("cluster.json"); }
  const TempDir& dir() const { return dir_; }
  void write_config(const nlohmann::json& config) {
    write_file_atomic(config_path(), config.dump(2));
  }

  // Starts `kvcluster up -c cluster.json` (stdout/stderr to files in the dir).
  void start_supervisor(const std::vector<std::string>& extra = {});
  pid_t supervisor_pid() const { return supervisor_; }
  // Waits for the supervisor to exit; its exit code (128+sig if killed), nullopt on timeout.
  std::optional<int> wait_supervisor(std::chrono::milliseconds timeout = 20s);
  std::string supervisor_output() const { return read_file(dir_.sub("up.out")); }

  CommandResult kvcluster(const std::vector<std::string>& args);
  // `status --json` of the running supervisor, parsed; null when no supervisor answered.
  nlohmann::json status();
  // Waits until every node in status has state `state` (and there are `count` of them).
  bool wait_all(const std::string& state, size_t count, std::chrono::milliseconds timeout = 10s);
  nlohmann::json node(const nlohmann::json& status, int id);
  // Remembers a pid to kill at the end (status() does this for every node pid it sees).
  void track(pid_t pid) { seen_pids_.insert(pid); }

 private:
  TempDir dir_;
  pid_t supervisor_ = -1;
  bool reaped_ = false;
  std::set<pid_t> seen_pids_;
};

// A process the test runs itself, e.g. a node "on another machine" that no supervisor owns.
// Output goes to /dev/null. SIGKILLed and reaped by kill() or when destroyed.
class OwnProcess {
 public:
  explicit OwnProcess(const std::vector<std::string>& argv);
  ~OwnProcess() { kill(); }
  OwnProcess(const OwnProcess&) = delete;
  OwnProcess& operator=(const OwnProcess&) = delete;
  pid_t pid() const { return pid_; }
  // SIGKILL and reap: once this returns the process is gone and its port closed.
  void kill();

 private:
  pid_t pid_ = -1;
};

// A fake_node on host:port answering PING and INFO with this Raft view; waits (up to 10 s)
// until it answers.
std::unique_ptr<OwnProcess> start_fake_node(const std::string& host, uint16_t port,
                                            const std::vector<std::string>& raft_args);

// A cluster.json for n kvstore nodes on fresh ports, mode independent.
nlohmann::json kvstore_config(int n);
// A cluster.json for fake_node nodes on fresh ports, one per entry of node_args (its args);
// no mode (so independent).
nlohmann::json fake_config(const std::vector<std::vector<std::string>>& node_args);

// /proc/PID/cmdline with the NULs as spaces.
std::string cmdline(pid_t pid);
// /proc/PID/environ as "NAME=value" strings.
std::vector<std::string> environment_of(pid_t pid);

}  // namespace kv::cluster::test
