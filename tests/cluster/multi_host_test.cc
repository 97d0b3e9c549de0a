// A cluster.json spanning machines, on one machine: --local-hosts 127.0.0.1 makes 127.0.0.2
// "another machine", where the test runs a fake_node itself. kvcluster must start only its own
// nodes, give them --peers naming every node, probe the other one and count it in the health;
// status without a supervisor asks every node directly and still judges the cluster.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <stdlib.h>

#include "cluster/cluster_harness.h"

namespace kv::cluster::test {
namespace {

const std::vector<std::string> kLeader1 = {"--role", "leader", "--leader-id", "1"};
const std::vector<std::string> kFollower1 = {"--role", "follower", "--leader-id", "1"};
const char* kOtherHost = "127.0.0.2";

std::vector<std::string> listening(std::vector<std::string> args) {
  args.insert(args.begin(), "--listen");
  return args;
}

// node1 and node2 here (fake nodes), node3 on kOtherHost.
nlohmann::json spanning_config() {
  nlohmann::json config = fake_config({listening(kLeader1), listening(kFollower1)});
  config["mode"] = "raft";
  config["secret"] = "shared by every machine";
  config["probe"] = {{"interval_ms", 50}, {"timeout_ms", 500}, {"failures", 2}};
  config["nodes"].push_back({{"id", 3},
                             {"host", kOtherHost},
                             {"port", pick_free_port()},
                             {"data_dir", "node3"},
                             {"args", listening(kFollower1)}});
  return config;
}

uint16_t port_of(const nlohmann::json& config, int id) {
  return config["nodes"][id - 1]["port"].get<uint16_t>();
}

std::string last_line(const std::string& out) {
  std::string s = out;
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s.substr(s.rfind('\n') + 1);
}

TEST_CASE("a node on another host is probed, not started; it counts in the cluster's health") {
  TestCluster c;
  nlohmann::json config = spanning_config();
  c.write_config(config);
  auto remote = start_fake_node(kOtherHost, port_of(config, 3), kFollower1);
  c.start_supervisor({"--local-hosts", "127.0.0.1"});

  nlohmann::json s;
  REQUIRE(eventually([&] {
    s = c.status();
    return !s.is_null() && c.node(s, 1)["state"] == "running" &&
           c.node(s, 2)["state"] == "running" && c.node(s, 3)["answering"] == true;
  }));
  nlohmann::json n3 = c.node(s, 3);
  CHECK(n3["state"] == "remote");
  CHECK(n3["pid"].is_null());
  CHECK(n3["host"] == kOtherHost);
  CHECK(n3["info"]["role"] == "follower");
  CHECK(n3["info"]["process_id"] == std::to_string(remote->pid()));
  CHECK(s["supervisor"]["this_machine"] == "--local-hosts 127.0.0.1");

  // Our nodes: no --bind (127.0.0.1 is kvstore's default), --peers names every node's host.
  std::string peers = fmt::format("1=127.0.0.1:{},2=127.0.0.1:{},3={}:{}", port_of(config, 1),
                                  port_of(config, 2), kOtherHost, port_of(config, 3));
  for (int id : {1, 2}) {
    std::string cmd = cmdline(c.node(s, id)["pid"].get<pid_t>());
    CHECK(cmd.find("--peers " + peers) != std::string::npos);
    CHECK(cmd.find("--bind") == std::string::npos);
  }
  std::string out = c.supervisor_output();
  CHECK(out.find("supervising 2 nodes") != std::string::npos);
  CHECK(out.find(fmt::format("node3 ({}) on other machines: probed, not started here",
                             kOtherHost)) != std::string::npos);
  CHECK(out.find(fmt::format("node3 on {}:{} (another machine) is answering (follower, term 7)",
                             kOtherHost, port_of(config, 3))) != std::string::npos);
  CHECK(out.find("node3 started") == std::string::npos);

  CommandResult table = c.kvcluster({"status"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("ADDRESS") != std::string::npos);
  CHECK(table.out.find(fmt::format("{}:{}", kOtherHost, port_of(config, 3))) != std::string::npos);
  CHECK(table.out.find("remote") != std::string::npos);
  CHECK(last_line(table.out) == "cluster: healthy, leader node1, term 7");

  CommandResult restart = c.kvcluster({"restart", "node3"});
  CHECK(restart.exit_code == 1);
  CHECK(
      restart.err ==
      fmt::format("kvcluster: node3 runs on another machine ({}): restart it there\n", kOtherHost));

  SUBCASE("the remote node stops answering: degraded, and the stream says so") {
    remote->kill();
    CommandResult r;
    REQUIRE(eventually([&] {
      r = c.kvcluster({"status"});
      return r.exit_code == 1;
    }));
    CHECK(last_line(r.out) ==
          "degraded: node3 unreachable; 2 of 3 members up, leader node1, term 7");
    CHECK(r.out.find("node3: on another machine, no answer: Connection refused") !=
          std::string::npos);
    CHECK(c.supervisor_output().find("(another machine) is not answering: Connection refused") !=
          std::string::npos);
  }

  SUBCASE("reload: node3 moves to this machine, so it is started here") {
    remote->kill();
    nlohmann::json next = config;
    next["nodes"][2]["host"] = "127.0.0.1";
    c.write_config(next);
    REQUIRE(eventually([&] {
      nlohmann::json now = c.status();
      return !now.is_null() && c.node(now, 3)["state"] == "running" &&
             c.node(now, 3)["pid"].is_number();
    }));
    // --peers changed for everyone, so node1 and node2 restart too: healthy once they are up.
    CHECK(eventually([&] { return c.kvcluster({"status"}).exit_code == 0; }));
  }

  SUBCASE("reload: node2 moves to another machine, so its process here is stopped") {
    pid_t node2 = c.node(s, 2)["pid"].get<pid_t>();
    nlohmann::json next = config;
    next["nodes"][1]["host"] = kOtherHost;
    c.write_config(next);
    nlohmann::json now;
    REQUIRE(eventually([&] {
      now = c.status();
      return !now.is_null() && pid_gone(node2) && now["nodes"].size() == 3 &&
             c.node(now, 2)["state"] == "remote";
    }));
    CHECK(c.node(now, 2)["answering"] == false);
    REQUIRE(eventually([&] { return c.kvcluster({"status"}).exit_code == 1; }));
  }
}

TEST_CASE("up with no node on this machine refuses, naming the hosts") {
  TestCluster c;
  c.write_config(spanning_config());
  CommandResult r = c.kvcluster({"up", "--local-hosts", "10.255.255.1"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("kvcluster: no node of " + c.config_path() +
                   " is on this machine (node1 on "
                   "127.0.0.1, node2 on 127.0.0.1, node3 on 127.0.0.2; this machine: "
                   "--local-hosts 10.255.255.1): nothing to start here") == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

TEST_CASE("raft across machines without a \"secret\": up refuses (KVCLUSTER_LOCAL_HOSTS)") {
  TestCluster c;
  nlohmann::json config = spanning_config();
  config.erase("secret");
  c.write_config(config);
  ::setenv("KVCLUSTER_LOCAL_HOSTS", "127.0.0.1", 1);
  CommandResult r = c.kvcluster({"up"});
  ::unsetenv("KVCLUSTER_LOCAL_HOSTS");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("cluster.json: secret: node3 runs on other machines, whose kvcluster must "
                   "give the nodes the same secret") != std::string::npos);
  CHECK(read_file(c.dir().sub(".kvcluster/secret")).empty());  // none generated

  // Without the override every node is on this machine (127.0.0.2 is loopback too): a local
  // cluster, for which a generated secret is fine; node3 listens on its own address.
  CommandResult local = c.kvcluster({"up", "--detach"});
  REQUIRE(local.exit_code == 0);
  CHECK(local.out.find("supervising 3 nodes") != std::string::npos);
  REQUIRE(c.wait_all("running", 3));
  nlohmann::json s = c.status();
  CHECK(cmdline(c.node(s, 3)["pid"].get<pid_t>()).find("--bind 127.0.0.2 ") != std::string::npos);
  CHECK(c.kvcluster({"down"}).exit_code == 0);
}

TEST_CASE("status with no supervisor asks every node; raft mode exits with the health") {
  TestCluster c;
  nlohmann::json config = spanning_config();
  c.write_config(config);
  auto n1 = start_fake_node("127.0.0.1", port_of(config, 1), kLeader1);
  auto n2 = start_fake_node("127.0.0.1", port_of(config, 2), kFollower1);
  auto n3 = start_fake_node(kOtherHost, port_of(config, 3), kFollower1);

  CommandResult r = c.kvcluster({"status", "--local-hosts", "127.0.0.1"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("no supervisor is running") != std::string::npos);
  CHECK(r.out.find("unsupervised") != std::string::npos);
  CHECK(r.out.find("remote") != std::string::npos);
  CHECK(r.out.find(std::to_string(n1->pid())) != std::string::npos);  // PID from INFO
  CHECK(last_line(r.out) == "cluster: healthy, leader node1, term 7");

  CommandResult j = c.kvcluster({"status", "--json", "--local-hosts", "127.0.0.1"});
  CHECK(j.exit_code == 0);
  nlohmann::json doc = nlohmann::json::parse(j.out);
  CHECK(doc["supervisor"].is_null());
  CHECK(doc["health"]["level"] == "healthy");
  CHECK(doc["nodes"][2]["state"] == "remote");
  CHECK(doc["nodes"][2]["pid"].is_null());

  n3->kill();
  r = c.kvcluster({"status", "--local-hosts", "127.0.0.1"});
  CHECK(r.exit_code == 1);
  CHECK(last_line(r.out) == "degraded: node3 unreachable; 2 of 3 members up, leader node1, term 7");

  n2->kill();
  r = c.kvcluster({"status", "--local-hosts", "127.0.0.1"});
  CHECK(r.exit_code == 2);
  CHECK(last_line(r.out) == "NO QUORUM: 1 of 3 members up (node2 down, node3 unreachable)");
  CHECK(r.out.find("node2: no answer: Connection refused") != std::string::npos);
}

}  // namespace
}  // namespace kv::cluster::test
