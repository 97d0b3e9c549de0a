#include "cluster/cluster_harness.h"

#include <doctest/doctest.h>
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
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cluster/health_probe.h"
#include "testing/child_process.h"

namespace kv::cluster::test {

using kv::testing::decode_wait_status;
using kv::testing::ExecArgs;
using kv::testing::prepare_child;

std::string kvcluster_bin() { return std::string(KV_BIN_DIR) + "/kvcluster"; }
std::string kvstore_bin() { return std::string(KV_BIN_DIR) + "/kvstore"; }
std::string fake_node_bin() { return std::string(KV_TEST_BIN_DIR) + "/fake_node"; }

void write_file_atomic(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp~";
  write_file(tmp, data);
  REQUIRE(::rename(tmp.c_str(), path.c_str()) == 0);
}

bool pid_gone(pid_t pid) {
  if (pid <= 0) return true;
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return true;
  auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

CommandResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  ExecArgs args(argv);
  int out[2], err[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    prepare_child();
    ::execv(args.ptrs[0], args.ptrs.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  REQUIRE(pid > 0);
  CommandResult r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  auto deadline = Clock::now() + timeout;
  int open = 2;
  while (open > 0 && Clock::now() < deadline) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (::poll(fds, 2, static_cast<int>(std::max<int64_t>(left, 1))) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[65536];
      ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  for (auto& p : fds) {
    if (p.fd >= 0) {
      ::close(p.fd);
      ::kill(pid, SIGKILL);
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = open > 0 ? -1 : decode_wait_status(status);
  return r;
}

TestCluster::TestCluster() = default;

TestCluster::~TestCluster() {
  if (supervisor_ > 0 && !reaped_) {
    ::kill(supervisor_, SIGKILL);
    int status = 0;
    ::waitpid(supervisor_, &status, 0);
  }
  for (pid_t pid : seen_pids_) {
    if (!pid_gone(pid)) ::kill(pid, SIGKILL);
  }
}

void TestCluster::start_supervisor(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {kvcluster_bin(), "-c", config_path(), "up"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  ExecArgs args(argv);
  std::string out = dir_.sub("up.out"), err = dir_.sub("up.err");
  int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(out_fd >= 0);
  REQUIRE(err_fd >= 0);
  supervisor_ = ::fork();
  if (supervisor_ == 0) {
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    prepare_child();
    ::execv(args.ptrs[0], args.ptrs.data());
    ::_exit(127);
  }
  ::close(out_fd);
  ::close(err_fd);
  REQUIRE(supervisor_ > 0);
  reaped_ = false;
}

std::optional<int> TestCluster::wait_supervisor(std::chrono::milliseconds timeout) {
  std::optional<int> code;
  eventually(
      [&] {
        int status = 0;
        if (::waitpid(supervisor_, &status, WNOHANG) == supervisor_) {
          code = decode_wait_status(status);
          reaped_ = true;
          return true;
        }
        return false;
      },
      timeout);
  return code;
}

CommandResult TestCluster::kvcluster(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kvcluster_bin(), "-c", config_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

nlohmann::json TestCluster::status() {
  CommandResult r = kvcluster({"status", "--json"});
  // 0/1/2: healthy, degraded, no quorum (raft) as judged from the document below.
  if (r.exit_code < 0 || r.exit_code > 2) return nullptr;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(r.out);
  } catch (...) {
    return nullptr;
  }
  if (!j.is_object() || !j.contains("supervisor") || j["supervisor"].is_null()) return nullptr;
  for (const auto& n : j["nodes"]) {
    if (n["pid"].is_number()) track(n["pid"].get<pid_t>());
  }
  return j;
}

bool TestCluster::wait_all(const std::string& state, size_t count,
                           std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        nlohmann::json s = status();
        if (s.is_null() || s["nodes"].size() != count) return false;
        for (const auto& n : s["nodes"]) {
          if (n["state"] != state) return false;
        }
        return true;
      },
      timeout);
}

nlohmann::json TestCluster::node(const nlohmann::json& status, int id) {
  for (const auto& n : status["nodes"]) {
    if (n["id"] == id) return n;
  }
  return nullptr;
}

OwnProcess::OwnProcess(const std::vector<std::string>& argv) {
  ExecArgs args(argv);
  pid_ = ::fork();
  if (pid_ == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    prepare_child();
    ::execv(args.ptrs[0], args.ptrs.data());
    ::_exit(127);
  }
  REQUIRE(pid_ > 0);
}

void OwnProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

std::unique_ptr<OwnProcess> start_fake_node(const std::string& host, uint16_t port,
                                            const std::vector<std::string>& raft_args) {
  std::vector<std::string> argv = {fake_node_bin(), "--port", std::to_string(port), "--bind", host};
  argv.insert(argv.end(), raft_args.begin(), raft_args.end());
  argv.push_back("--listen");
  auto p = std::make_unique<OwnProcess>(argv);
  REQUIRE(eventually([&] { return probe_once(host, port, 1000ms).ok; }));
  return p;
}

nlohmann::json kvstore_config(int n) {
  nlohmann::json nodes = nlohmann::json::array();
  for (int id = 1; id <= n; ++id) {
    nodes.push_back(
        {{"id", id}, {"port", pick_free_port()}, {"data_dir", "node" + std::to_string(id)}});
  }
  // Independent: these tests are about supervising processes, not replication.
  return {{"kvstore", kvstore_bin()}, {"mode", "independent"}, {"nodes", nodes}, {"fsync", "no"}};
}

nlohmann::json fake_config(const std::vector<std::vector<std::string>>& node_args) {
  nlohmann::json nodes = nlohmann::json::array();
  int id = 1;
  for (const auto& args : node_args) {
    nodes.push_back({{"id", id},
                     {"port", pick_free_port()},
                     {"data_dir", "node" + std::to_string(id)},
                     {"args", args}});
    ++id;
  }
  return {{"kvstore", fake_node_bin()}, {"nodes", nodes}};
}

std::string cmdline(pid_t pid) {
  std::string s = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : s) {
    if (c == '\0') c = ' ';
  }
  return s;
}

std::vector<std::string> environment_of(pid_t pid) {
  std::string s = read_file("/proc/" + std::to_string(pid) + "/environ");
  std::vector<std::string> vars;
  size_t start = 0;
  for (size_t end; (end = s.find('\0', start)) != std::string::npos; start = end + 1) {
    vars.push_back(s.substr(start, end - start));
  }
  return vars;
}

}  // namespace kv::cluster::test
