// End to end: build/kvcluster supervising real kvstore nodes (and fake_node where a test needs
// a node that misbehaves on command), observed only from outside: status --json, the output
// stream, /proc, and the nodes' own port.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <regex>
#include <sstream>

#include "cluster/cluster_harness.h"
#include "cluster/health_probe.h"

namespace kv::cluster::test {
namespace {

std::vector<pid_t> pids_of(const nlohmann::json& status) {
  std::vector<pid_t> pids;
  for (const auto& n : status["nodes"]) {
    if (n["pid"].is_number()) pids.push_back(n["pid"].get<pid_t>());
  }
  return pids;
}

bool all_gone(const std::vector<pid_t>& pids, std::chrono::milliseconds timeout = 10s) {
  return eventually(
      [&] {
        for (pid_t p : pids) {
          if (!pid_gone(p)) return false;
        }
        return true;
      },
      timeout);
}

TEST_CASE("up: three nodes run; status --json matches reality; a killed node comes back") {
  TestCluster c;
  c.write_config(kvstore_config(3));
  c.start_supervisor();
  REQUIRE(c.wait_all("running", 3));
  nlohmann::json s = c.status();
  CHECK(c.kvcluster({"status"}).exit_code == 0);

  // Every reported pid is a live kvstore with that node's port, answering PING there, and
  // saying it is that pid.
  for (const auto& n : s["nodes"]) {
    pid_t pid = n["pid"].get<pid_t>();
    uint16_t port = n["port"].get<uint16_t>();
    CHECK(cmdline(pid).find("--port " + std::to_string(port)) != std::string::npos);
    ProbeResult r = probe_once("127.0.0.1", port, 2000ms);
    CHECK(r.ok);
    CHECK(r.info["process_id"] == std::to_string(pid));
    CHECK(n["restarts"] == 0);
    CHECK(n["last_exit"].is_null());
    CHECK(n["uptime_s"].is_number());
  }

  SUBCASE("a second up on the same file refuses with one clear line") {
    CommandResult r = c.kvcluster({"up"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("already running on") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }

  SUBCASE("SIGKILL of a node: restarted with restarts=1 and a new pid; the others untouched") {
    pid_t victim = c.node(s, 2)["pid"].get<pid_t>();
    REQUIRE(::kill(victim, SIGKILL) == 0);
    nlohmann::json after;
    REQUIRE(eventually([&] {
      after = c.status();
      auto n = c.node(after, 2);
      return !after.is_null() && n["state"] == "running" && n["restarts"] == 1 &&
             n["pid"] != victim;
    }));
    CHECK(c.node(after, 2)["last_exit"] == "signal KILL");
    CHECK(c.node(after, 1)["pid"] == c.node(s, 1)["pid"]);
    CHECK(c.node(after, 3)["pid"] == c.node(s, 3)["pid"]);
    CHECK(c.supervisor_output().find("node2 exited (signal KILL), restarting in 100 ms") !=
          std::string::npos);
  }

  SUBCASE("SIGTERM to the supervisor: clean stop, exit 0, no node left") {
    std::vector<pid_t> pids = pids_of(s);
    ::kill(c.supervisor_pid(), SIGTERM);
    CHECK(c.wait_supervisor() == 0);
    CHECK(all_gone(pids));
    CHECK(c.supervisor_output().find("all nodes stopped") != std::string::npos);
  }

  SUBCASE("SIGKILL of the supervisor: PDEATHSIG takes every node down with it") {
    std::vector<pid_t> pids = pids_of(s);
    ::kill(c.supervisor_pid(), SIGKILL);
    CHECK(c.wait_supervisor() == 128 + SIGKILL);
    CHECK(all_gone(pids));
  }

  SUBCASE("down: waits for the stop, then exit 0; logs are kept per node") {
    std::vector<pid_t> pids = pids_of(s);
    CommandResult r = c.kvcluster({"down"});
    CHECK(r.exit_code == 0);
    CHECK(c.wait_supervisor() == 0);
    CHECK(all_gone(pids, 1s));  // down returned only after they were reaped
    CommandResult logs = c.kvcluster({"logs", "node2"});
    CHECK(logs.exit_code == 0);
    CHECK(logs.out.find("| [node] listening on port") != std::string::npos);
    CHECK(logs.out.find("* node2 stopped") != std::string::npos);
    CommandResult tail = c.kvcluster({"logs", "-n", "5"});
    CHECK(tail.exit_code == 0);
    CHECK(std::count(tail.out.begin(), tail.out.end(), '\n') == 5);
    CommandResult all = c.kvcluster({"logs"});
    CHECK(all.out.find("| all nodes stopped") != std::string::npos);
    CHECK(all.out.find("node3     ") != std::string::npos);
    CHECK(all.out.find(" * ") == std::string::npos);  // event copies are not repeated
    CommandResult none = c.kvcluster({"status"});
    CHECK(none.exit_code == 3);
  }
}

TEST_CASE("preflight: a busy port or a locked data dir refuses to start, naming the node") {
  TestCluster c;
  nlohmann::json config = kvstore_config(2);
  c.write_config(config);

  SUBCASE("busy port") {
    uint16_t port = config["nodes"][1]["port"].get<uint16_t>();
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    CommandResult r = c.kvcluster({"up"});
    ::close(fd);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("kvcluster: node2: port " + std::to_string(port) + " is already in use") !=
          std::string::npos);
  }
  SUBCASE("locked data dir") {
    ::mkdir(c.dir().sub("node1").c_str(), 0755);
    int fd = ::open(c.dir().sub("node1/LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    REQUIRE(::flock(fd, LOCK_EX) == 0);
    CommandResult r = c.kvcluster({"up"});
    ::close(fd);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("kvcluster: node1: data dir ") != std::string::npos);
    CHECK(r.err.find("is locked by another process") != std::string::npos);
  }
  SUBCASE("an invalid file") {
    write_file(c.config_path(), "{\"nodes\": 3}");
    CommandResult r = c.kvcluster({"up"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("cluster.json: nodes: must be an array, got 3") != std::string::npos);
  }
  SUBCASE("bad flags: exit 64 (EX_USAGE) with one line") {
    CommandResult r = c.kvcluster({"up", "--bogus"});
    CHECK(r.exit_code == 64);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}

TEST_CASE("independent status with no supervisor: exit 3, and each port is probed") {
  TestCluster c;
  nlohmann::json config = fake_config({{"--listen"}, {"--listen"}});
  c.write_config(config);
  auto answering = start_fake_node("127.0.0.1", config["nodes"][1]["port"].get<uint16_t>(), {});
  CommandResult r = c.kvcluster({"status"});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("no supervisor is running") != std::string::npos);
  CHECK(r.out.find("node1: no answer: Connection refused") != std::string::npos);
  CHECK(r.out.find("unsupervised") != std::string::npos);
  CHECK(r.out.find("degraded: node1 down; 1 of 2 nodes running") != std::string::npos);
}

TEST_CASE("a crash loop ends in failed with few restarts; restart re-arms it") {
  TestCluster c;
  nlohmann::json config = fake_config(
      {{"--eprint", "boom: cannot start", "--exit", "1"}, {"--crash", "segv"}, {"--listen"}});
  config["restart"] = {{"initial_backoff_ms", 5}, {"max_backoff_ms", 20}, {"max_failures", 3}};
  c.write_config(config);
  c.start_supervisor();
  nlohmann::json s;
  REQUIRE(eventually([&] {
    s = c.status();
    return !s.is_null() && c.node(s, 1)["state"] == "failed" && c.node(s, 2)["state"] == "failed" &&
           c.node(s, 3)["state"] == "running";
  }));
  auto n1 = c.node(s, 1);
  CHECK(n1["restarts"] == 3);
  CHECK(n1["last_exit"] == "exit 1");
  CHECK(n1["pid"].is_null());
  CHECK(n1["reason"].get<std::string>().find("4 exits") != std::string::npos);
  CHECK(c.node(s, 2)["last_exit"].get<std::string>().find("signal SEGV") == 0);
  // The fake node answers INFO with a Raft section: status shows it.
  CHECK(c.node(s, 3)["info"]["role"] == "follower");
  CommandResult table = c.kvcluster({"status"});
  CHECK(table.exit_code == 1);
  CHECK(table.out.find("ROLE") != std::string::npos);
  std::string out = c.supervisor_output();
  CHECK(out.find("node1 failed after 4 attempts") != std::string::npos);
  CHECK(out.find("boom: cannot start") != std::string::npos);

  CommandResult r = c.kvcluster({"restart", "node1"});
  CHECK(r.exit_code == 0);
  CHECK(eventually([&] {
    auto again = c.status();
    return !again.is_null() && c.node(again, 1)["state"] == "failed" &&
           c.node(again, 1)["restarts"] == 6;
  }));
  CHECK(c.kvcluster({"restart", "node9"}).exit_code == 1);
}

TEST_CASE("three nodes writing long lines at once: no line torn, none lost") {
  constexpr int kLines = 20000;
  constexpr int kBytes = 200;
  TestCluster c;
  std::vector<std::string> args = {
      "--lines", std::to_string(kLines), "--line-bytes", std::to_string(kBytes), "--exit", "0"};
  nlohmann::json config = fake_config({args, args, args});
  config["restart"] = {{"max_failures", 0}};  // exit 0 once done, then stay down
  c.write_config(config);
  c.start_supervisor();
  REQUIRE(c.wait_all("failed", 3, 30s));

  std::map<std::string, long> next_seq;  // per node: lines arrive in order
  std::istringstream in(c.supervisor_output());
  std::string line;
  const std::regex ok(R"(^(node\d)     \| L:(\d+):(\d+):([a-z]+):END$)");
  long good = 0, bad = 0;
  while (std::getline(in, line)) {
    if (line.rfind("node", 0) != 0) continue;  // supervisor events
    std::smatch m;
    if (!std::regex_match(line, m, ok)) {
      ++bad;
      continue;
    }
    long seq = std::stol(m[3]);
    std::string fill = m[4];
    bool intact = fill.size() == kBytes &&
                  fill.find_first_not_of(static_cast<char>('a' + seq % 26)) == std::string::npos;
    bool in_order = seq == next_seq[m[1]];
    next_seq[m[1]] = seq + 1;
    (intact && in_order) ? ++good : ++bad;
  }
  CHECK(bad == 0);
  CHECK(good == 3L * kLines);
  for (const auto& name : {"node1", "node2", "node3"}) CHECK(next_seq[name] == kLines);
}

TEST_CASE("a partial line is shown after a short delay; an ignored SIGTERM ends in SIGKILL") {
  TestCluster c;
  nlohmann::json config = fake_config({{"--partial", "prompt> ", "--ignore-term", "--listen"}});
  config["stop_timeout_ms"] = 300;
  c.write_config(config);
  c.start_supervisor();
  REQUIRE(c.wait_all("running", 1));
  CHECK(eventually(
      [&] { return c.supervisor_output().find("node1     | prompt> \n") != std::string::npos; },
      2s));
  auto start = Clock::now();
  CHECK(c.kvcluster({"down"}).exit_code == 0);
  CHECK(Clock::now() - start < 5s);
  CHECK(c.wait_supervisor() == 0);
  std::string out = c.supervisor_output();
  CHECK(out.find("node1 still running 300 ms after SIGTERM: sending SIGKILL") != std::string::npos);
  CHECK(out.find("node1 stopped (pid") != std::string::npos);
}

TEST_CASE("a node that stops answering is unresponsive, and running again once it answers") {
  TestCluster c;
  nlohmann::json config = kvstore_config(1);
  config["probe"] = {{"interval_ms", 50}, {"timeout_ms", 100}, {"failures", 2}};
  c.write_config(config);
  c.start_supervisor();
  REQUIRE(c.wait_all("running", 1));
  pid_t pid = c.node(c.status(), 1)["pid"].get<pid_t>();
  ::kill(pid, SIGSTOP);
  CHECK(c.wait_all("unresponsive", 1));
  ::kill(pid, SIGCONT);
  CHECK(c.wait_all("running", 1));
  CHECK(c.node(c.status(), 1)["pid"] == pid);
}

TEST_CASE("up --detach: runs in the background; down stops it") {
  TestCluster c;
  c.write_config(kvstore_config(2));
  CommandResult r = c.kvcluster({"up", "--detach"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("in the background") != std::string::npos);
  REQUIRE(c.wait_all("running", 2));
  std::vector<pid_t> pids = pids_of(c.status());
  CHECK(c.kvcluster({"down"}).exit_code == 0);
  CHECK(all_gone(pids, 1s));
  CHECK(c.kvcluster({"status"}).exit_code == 3);
}

}  // namespace
}  // namespace kv::cluster::test
