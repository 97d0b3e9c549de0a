// kvcluster in mode raft, end to end with fake_node standing in for kvstore (it accepts the
// raft flags): what each node is started with is read back from /proc — --id and --peers on
// the command line, the cluster secret only in the environment — and the generated secret
// file is created once and reused by the next `up`.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "cluster/cluster_harness.h"

namespace kv::cluster::test {
namespace {

std::string peers_of(const nlohmann::json& config) {
  std::string peers;
  for (const auto& n : config["nodes"]) {
    peers += (peers.empty() ? "" : ",") + std::to_string(n["id"].get<int>()) +
             "=127.0.0.1:" + std::to_string(n["port"].get<int>());
  }
  return peers;
}

// The value of KV_CLUSTER_SECRET in the node's environment, or nullopt.
std::optional<std::string> secret_env(pid_t pid) {
  std::optional<std::string> value;
  for (const auto& var : environment_of(pid)) {
    if (var.rfind("KV_CLUSTER_SECRET=", 0) == 0) {
      CHECK_FALSE(value.has_value());  // set once, not appended to an inherited one
      value = var.substr(18);
    }
  }
  return value;
}

std::string trimmed(std::string s) {
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// Every node is running with the expected command line and secret; returns the pids.
std::map<int, pid_t> check_nodes(TestCluster& c, const nlohmann::json& config,
                                 const std::string& secret) {
  nlohmann::json s = c.status();
  std::map<int, pid_t> pids;
  const std::string peers = peers_of(config);
  for (const auto& n : config["nodes"]) {
    int id = n["id"].get<int>();
    nlohmann::json node = c.node(s, id);
    REQUIRE(node["pid"].is_number());
    pid_t pid = node["pid"].get<pid_t>();
    pids[id] = pid;
    std::string cmd = cmdline(pid);
    CHECK(cmd.find(fmt::format("--port {} --data-dir {}/node{} --id {} --peers {} --listen",
                               n["port"].get<int>(), c.dir().path(), id, id, peers)) !=
          std::string::npos);
    CHECK(cmd.find(secret) == std::string::npos);
    CHECK(cmd.find("--cluster-secret") == std::string::npos);
    CHECK(secret_env(pid) == secret);
  }
  return pids;
}

TEST_CASE("raft mode: --id/--peers for each node; a generated secret in the environment, kept") {
  TestCluster c;
  nlohmann::json config = fake_config({{"--listen"}, {"--listen"}, {"--listen"}});
  config["mode"] = "raft";
  c.write_config(config);
  c.start_supervisor();
  REQUIRE(c.wait_all("running", 3));

  std::string secret_path = c.dir().sub(".kvcluster/secret");
  std::string secret = trimmed(read_file(secret_path));
  CHECK(secret.size() == 32);
  CHECK(secret.find_first_not_of("0123456789abcdef") == std::string::npos);
  struct stat st {};
  REQUIRE(::stat(secret_path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  std::map<int, pid_t> pids = check_nodes(c, config, secret);

  // Nothing kvcluster prints or logs carries the secret.
  CHECK(c.supervisor_output().find(secret) == std::string::npos);
  CHECK(c.kvcluster({"status", "--json"}).out.find(secret) == std::string::npos);
  CHECK(c.kvcluster({"status"}).out.find("LEADER") != std::string::npos);

  SUBCASE("a second up reuses the secret file") {
    CHECK(c.kvcluster({"down"}).exit_code == 0);
    CHECK(c.wait_supervisor() == 0);
    c.start_supervisor();
    REQUIRE(c.wait_all("running", 3));
    CHECK(trimmed(read_file(secret_path)) == secret);
    check_nodes(c, config, secret);
    CHECK(c.kvcluster({"logs"}).out.find(secret) == std::string::npos);
  }

  SUBCASE("reload: a new node starts with --join; the others keep running (live membership)") {
    nlohmann::json next = config;
    next["nodes"].push_back(
        {{"id", 4}, {"port", pick_free_port()}, {"data_dir", "node4"}, {"args", {"--listen"}}});
    c.write_config(next);
    nlohmann::json s;
    REQUIRE(eventually([&] {
      s = c.status();
      return !s.is_null() && s["nodes"].size() == 4 && c.node(s, 4)["state"] == "running";
    }));
    for (int id : {1, 2, 3}) CHECK(c.node(s, id)["pid"] == pids[id]);
    pid_t pid4 = c.node(s, 4)["pid"].get<pid_t>();
    CHECK(cmdline(pid4).find(fmt::format("--id 4 --peers {} --listen --join", peers_of(next))) !=
          std::string::npos);
    CHECK(secret_env(pid4) == secret);
    CHECK(c.node(s, 4)["change"] == "joining");  // fake nodes never report it caught up
    CHECK(c.supervisor_output().find(
              "(file changed): +node4; membership changes, one at a time: add node4") !=
          std::string::npos);
  }

  SUBCASE("reload: a secret set in cluster.json restarts every node with it") {
    nlohmann::json next = config;
    next["secret"] = "set-by-the-operator";
    c.write_config(next);
    REQUIRE(eventually([&] {
      nlohmann::json s = c.status();
      if (s.is_null() || s["nodes"].size() != 3) return false;
      for (const auto& n : s["nodes"]) {
        if (n["state"] != "running" || n["pid"] == pids[n["id"].get<int>()]) return false;
      }
      return true;
    }));
    check_nodes(c, next, "set-by-the-operator");
    std::string out = c.supervisor_output();
    CHECK(out.find("the cluster secret changed") != std::string::npos);
    CHECK(out.find("set-by-the-operator") == std::string::npos);
    CHECK(trimmed(read_file(secret_path)) == secret);  // the generated one stays for later
  }
}

TEST_CASE("raft mode with a secret in cluster.json: it is used, and no secret file is made") {
  TestCluster c;
  nlohmann::json config = fake_config({{"--listen"}, {"--listen"}});
  config["mode"] = "raft";
  config["secret"] = "our shared secret";
  c.write_config(config);
  c.start_supervisor();
  REQUIRE(c.wait_all("running", 2));
  check_nodes(c, config, "our shared secret");
  CHECK(read_file(c.dir().sub(".kvcluster/secret")).empty());
  CHECK(c.supervisor_output().find("our shared secret") == std::string::npos);
}

TEST_CASE("independent mode: no raft flags, no secret set, no secret file") {
  TestCluster c;
  nlohmann::json config = fake_config({{"--listen"}});
  config["mode"] = "independent";
  c.write_config(config);
  c.start_supervisor();
  REQUIRE(c.wait_all("running", 1));
  pid_t pid = c.node(c.status(), 1)["pid"].get<pid_t>();
  CHECK(cmdline(pid).find("--id") == std::string::npos);
  CHECK(cmdline(pid).find("--peers") == std::string::npos);
  CHECK(read_file(c.dir().sub(".kvcluster/secret")).empty());
}

TEST_CASE("raft mode: an unusable secret file stops up with one line naming it") {
  TestCluster c;
  nlohmann::json config = fake_config({{"--listen"}});
  config["mode"] = "raft";
  c.write_config(config);
  REQUIRE(::mkdir(c.dir().sub(".kvcluster").c_str(), 0700) == 0);
  write_file(c.dir().sub(".kvcluster/secret"), "not-private\n");
  REQUIRE(::chmod(c.dir().sub(".kvcluster/secret").c_str(), 0644) == 0);
  CommandResult r = c.kvcluster({"up"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("kvcluster: " + c.dir().sub(".kvcluster/secret") +
                   " can be read by other users (mode 0644): chmod 600") == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find("not-private") == std::string::npos);
}

TEST_CASE("raft mode with real kvstore nodes: they elect one leader and agree on it") {
  // Until build/kvstore has the raft flags (raft_contract.md "kvstore flags") there is
  // nothing to run against.
  if (run({kvstore_bin(), "--help"}).out.find("--peers") == std::string::npos) {
    MESSAGE("skipped: build/kvstore has no --peers yet");
    return;
  }
  TestCluster c;
  nlohmann::json config = kvstore_config(3);
  config["mode"] = "raft";
  config["probe"] = {{"interval_ms", 50}, {"timeout_ms", 200}, {"failures", 2}};
  c.write_config(config);
  c.start_supervisor();
  REQUIRE(c.wait_all("running", 3));
  nlohmann::json s;
  bool agreed = eventually(
      [&] {
        s = c.status();
        if (s.is_null() || s["nodes"].size() != 3) return false;
        int leaders = 0;
        std::set<std::string> leader_ids, terms;
        for (const auto& n : s["nodes"]) {
          const nlohmann::json& info = n["info"];
          if (!info.contains("role") || !info.contains("leader_id")) return false;
          leaders += info["role"] == "leader" ? 1 : 0;
          leader_ids.insert(info["leader_id"].get<std::string>());
          terms.insert(info.value("term", ""));
        }
        return leaders == 1 && leader_ids.size() == 1 && *leader_ids.begin() != "0" &&
               terms.size() == 1;
      },
      15s);
  CHECK_MESSAGE(agreed, "last status: " << s.dump());
  for (const auto& n : s["nodes"]) {
    CHECK(secret_env(n["pid"].get<pid_t>()) ==
          trimmed(read_file(c.dir().sub(".kvcluster/secret"))));
  }
  CommandResult table = c.kvcluster({"status"});
  CHECK(table.out.find("leader") != std::string::npos);
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("cluster: healthy, leader node") != std::string::npos);

  // Freeze the followers one by one: degraded (1) with one, no quorum (2) with both.
  std::vector<pid_t> followers;
  for (const auto& n : s["nodes"]) {
    if (n["info"]["role"] != "leader") followers.push_back(n["pid"].get<pid_t>());
  }
  REQUIRE(followers.size() == 2);
  ::kill(followers[0], SIGSTOP);
  CommandResult r;
  CHECK_MESSAGE(eventually([&] { return (r = c.kvcluster({"status"})).exit_code == 1; }), r.out);
  CHECK(r.out.find("degraded: node") != std::string::npos);
  CHECK(r.out.find(" unresponsive; 2 of 3 members up, leader node") != std::string::npos);
  ::kill(followers[1], SIGSTOP);
  // (On the way there the leader may step down before both are seen unresponsive: "NO QUORUM:
  // no leader known by a majority".)
  CHECK_MESSAGE(eventually([&] {
                  r = c.kvcluster({"status"});
                  return r.exit_code == 2 &&
                         r.out.find("NO QUORUM: 1 of 3 members up") != std::string::npos;
                }),
                r.out);
  for (pid_t pid : followers) ::kill(pid, SIGCONT);
  CHECK(eventually([&] { return c.kvcluster({"status"}).exit_code == 0; }, 15s));

  CHECK(c.kvcluster({"down"}).exit_code == 0);
  CHECK(c.wait_supervisor() == 0);
}

}  // namespace
}  // namespace kv::cluster::test
