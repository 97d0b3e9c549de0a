// `kvcluster status` exit codes and health line in raft mode, end to end with fake_node
// standing in for kvstore (each told what its INFO says about Raft): 0 healthy, 1 degraded,
// 2 no quorum; bad flags 64 on every command.
#include <doctest/doctest.h>

#include "cluster/cluster_harness.h"

namespace kv::cluster::test {
namespace {

const std::vector<std::string> kLeader1 = {"--listen", "--role", "leader", "--leader-id", "1"};
const std::vector<std::string> kFollower1 = {"--listen", "--role", "follower", "--leader-id", "1"};
const std::vector<std::string> kCrash = {"--exit", "1"};

// Raft mode; a node that exits is given up on at once (failed), so states settle fast.
nlohmann::json raft_config(const std::vector<std::vector<std::string>>& node_args) {
  nlohmann::json config = fake_config(node_args);
  config["mode"] = "raft";
  config["restart"] = {{"max_failures", 0}};
  return config;
}

// Waits until no node is starting or restarting; returns the last `status` run.
CommandResult settled_status(TestCluster& c) {
  REQUIRE(eventually([&] {
    nlohmann::json s = c.status();
    if (s.is_null()) return false;
    for (const auto& n : s["nodes"]) {
      if (n["state"] != "running" && n["state"] != "failed") return false;
    }
    return true;
  }));
  return c.kvcluster({"status"});
}

std::string last_line(const std::string& out) {
  std::string s = out;
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s.substr(s.rfind('\n') + 1);
}

TEST_CASE("raft status: every member up behind one leader: exit 0, healthy") {
  TestCluster c;
  c.write_config(raft_config({kLeader1, kFollower1, kFollower1}));
  c.start_supervisor();
  CommandResult r = settled_status(c);
  CHECK(r.exit_code == 0);
  CHECK(last_line(r.out) == "cluster: healthy, leader node1, term 7");
  CommandResult j = c.kvcluster({"status", "--json"});
  CHECK(j.exit_code == 0);
  nlohmann::json doc = nlohmann::json::parse(j.out);
  CHECK(doc["mode"] == "raft");
  CHECK(doc["health"]["level"] == "healthy");
  CHECK(doc["health"]["leader"] == "node1");
  CHECK(doc["nodes"][0]["answering"] == true);
}

TEST_CASE("raft status: one of three down: exit 1, degraded, naming it") {
  TestCluster c;
  c.write_config(raft_config({kLeader1, kFollower1, kCrash}));
  c.start_supervisor();
  CommandResult r = settled_status(c);
  CHECK(r.exit_code == 1);
  CHECK(last_line(r.out) == "degraded: node3 failed; 2 of 3 members up, leader node1, term 7");
}

TEST_CASE("raft status: all up but one follows someone else: exit 1") {
  TestCluster c;
  c.write_config(
      raft_config({kLeader1, kFollower1, {"--listen", "--role", "candidate", "--leader-id", "0"}}));
  c.start_supervisor();
  CommandResult r = settled_status(c);
  CHECK(r.exit_code == 1);
  CHECK(last_line(r.out) ==
        "degraded: node3 sees no leader; 3 of 3 members up, leader node1, term 7");
}

TEST_CASE("raft status: two of three down: exit 2, no quorum") {
  TestCluster c;
  c.write_config(raft_config({kLeader1, kCrash, kCrash}));
  c.start_supervisor();
  CommandResult r = settled_status(c);
  CHECK(r.exit_code == 2);
  CHECK(last_line(r.out) == "NO QUORUM: 1 of 3 members up (node2 failed, node3 failed)");
  CHECK(nlohmann::json::parse(c.kvcluster({"status", "--json"}).out)["health"]["exit_code"] == 2);
}

TEST_CASE("raft status: all up but no leader known to a majority: exit 2") {
  std::vector<std::string> lost = {"--listen", "--role", "candidate", "--leader-id", "0"};
  TestCluster c;
  c.write_config(raft_config({lost, lost, kFollower1}));
  c.start_supervisor();
  CommandResult r = settled_status(c);
  CHECK(r.exit_code == 2);
  CHECK(last_line(r.out) == "NO QUORUM: no leader known by a majority (3 of 3 members up)");
}

TEST_CASE("independent status keeps its codes: 0 all running, 1 some not") {
  TestCluster c;
  nlohmann::json config = raft_config({{"--listen"}, kCrash});
  config["mode"] = "independent";
  c.write_config(config);
  c.start_supervisor();
  CommandResult r = settled_status(c);
  CHECK(r.exit_code == 1);
  CHECK(last_line(r.out) == "degraded: node2 failed; 1 of 2 nodes running");
}

TEST_CASE("bad flags: exit 64 (EX_USAGE) with one line, for every command") {
  TestCluster c;
  c.write_config(raft_config({kLeader1}));
  for (const auto& args : std::vector<std::vector<std::string>>{{"status", "--bogus"},
                                                                {"up", "--bogus"},
                                                                {"down", "extra"},
                                                                {"restart", "1", "2"},
                                                                {"--local-hosts", "a,,b", "status"},
                                                                {"nosuchcommand"}}) {
    CommandResult r = c.kvcluster(args);
    CHECK_MESSAGE(r.exit_code == 64, args[0] << " " << (args.size() > 1 ? args[1] : ""));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  CHECK(run({kvcluster_bin()}).exit_code == 64);  // no command: the help, and 64
  CHECK(run({kvcluster_bin(), "--help"}).exit_code == 0);
}

}  // namespace
}  // namespace kv::cluster::test
