// Live membership in raft mode, end to end with real kvstore nodes under `kvcluster up`: adding
// and removing nodes by editing cluster.json, a typo that changes nothing, and a rolling
// restart, each while a client keeps writing and counting error replies. Observed from outside
// only: status --json, the output stream, /proc and the nodes' own port.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "client/client.h"
#include "cluster/cluster_config.h"
#include "cluster/cluster_harness.h"
#include "testing/background_writer.h"

namespace kv::cluster::test {
namespace {

using protocol::Reply;
using Writer = kv::testing::BackgroundWriter;

// n kvstore nodes in raft mode, probed often so that status follows quickly.
nlohmann::json raft_config(int n) {
  nlohmann::json config = kvstore_config(n);
  config["mode"] = "raft";
  config["probe"] = {{"interval_ms", 50}, {"timeout_ms", 500}, {"failures", 3}};
  config["stop_timeout_ms"] = 5000;
  return config;
}

uint16_t port_of(const nlohmann::json& node) { return node["port"].get<uint16_t>(); }

std::map<int, pid_t> pids_of(const nlohmann::json& status) {
  std::map<int, pid_t> pids;
  for (const auto& n : status["nodes"]) {
    if (n["pid"].is_number()) pids[n["id"].get<int>()] = n["pid"].get<pid_t>();
  }
  return pids;
}

std::string info(const nlohmann::json& node, const char* key) {
  return node.contains("info") && node["info"].contains(key) ? node["info"][key].get<std::string>()
                                                             : "";
}

// Every node of status is running, exactly `count` of them; all follow one leader that says it
// leads, and every node counts `voters` voters. Returns the leader's id (0: not so).
int settled_leader(const nlohmann::json& s, size_t count, const std::string& voters) {
  if (s.is_null() || s["nodes"].size() != count) return 0;
  int leader = 0;
  std::set<std::string> named;
  for (const auto& n : s["nodes"]) {
    if (n["state"] != "running" || n.contains("change") || info(n, "voters") != voters) return 0;
    named.insert(info(n, "leader_id"));
    if (info(n, "role") == "leader") leader = n["id"].get<int>();
  }
  if (named.size() != 1 || *named.begin() != std::to_string(leader)) return 0;
  return leader;
}

// Waits until the cluster settled (see settled_leader); returns the last status and the leader.
std::pair<nlohmann::json, int> wait_settled(TestCluster& c, size_t count, const std::string& voters,
                                            std::chrono::milliseconds timeout = 20s) {
  nlohmann::json s;
  int leader = 0;
  bool ok = eventually(
      [&] {
        s = c.status();
        leader = settled_leader(s, count, voters);
        return leader != 0;
      },
      timeout);
  CHECK_MESSAGE(ok, "last status: " << s.dump() << "\n" << c.supervisor_output());
  return {s, leader};
}

Result<Reply> call(uint16_t port, const std::vector<std::string>& argv) {
  auto client = client::Client::connect("127.0.0.1", port, 2s);
  if (!client.ok()) return client.status();
  client->set_timeout(10s);
  return client->call(argv);
}

// Every acknowledged write reads back (linearizable GETs through one node, MGET in batches).
void check_all_readable(uint16_t port, const std::vector<std::string>& keys) {
  auto client = client::Client::connect("127.0.0.1", port, 2s);
  REQUIRE(client.ok());
  client->set_timeout(10s);
  size_t missing = 0;
  for (size_t i = 0; i < keys.size(); i += 500) {
    std::vector<std::string> argv = {"MGET"};
    for (size_t j = i; j < keys.size() && j < i + 500; ++j) argv.push_back(keys[j]);
    auto reply = client->call(argv);
    REQUIRE(reply.ok());
    REQUIRE(reply->type == Reply::Type::kArray);
    for (size_t j = 0; j < reply->elements.size(); ++j) {
      if (reply->elements[j].str != "v" + argv[j + 1]) missing++;
    }
  }
  CHECK_MESSAGE(missing == 0, missing << " of " << keys.size() << " acknowledged writes lost");
}

void check_no_error_replies(Writer& writer, TestCluster& c) {
  std::vector<std::string> errors = writer.errors();
  CHECK_MESSAGE(errors.empty(), errors.size() << " error replies, first: "
                                              << (errors.empty() ? "" : errors[0]) << "\n"
                                              << c.supervisor_output());
}

bool output_has(TestCluster& c, const std::string& text) {
  return c.supervisor_output().find(text) != std::string::npos;
}

// Every case starts from a supervised 3-node raft cluster that has settled with a leader.
struct SettledCluster {
  TestCluster c;
  nlohmann::json config = raft_config(3);
  nlohmann::json before;  // the settled status
  int leader = 0;

  SettledCluster() {
    c.write_config(config);
    c.start_supervisor();
    std::tie(before, leader) = wait_settled(c, 3, "1,2,3");
    REQUIRE(leader != 0);
  }
};

TEST_CASE_FIXTURE(SettledCluster,
                  "membership: node4 added to cluster.json joins live; nobody restarts; no error") {
  std::map<int, pid_t> pids = pids_of(before);

  Writer writer("a", {port_of(config["nodes"][0])});  // through node1 only
  REQUIRE(writer.wait_progress(20));
  nlohmann::json next = config;
  next["nodes"].push_back({{"id", 4}, {"port", pick_free_port()}, {"data_dir", "node4"}});
  c.write_config(next);
  auto [after, new_leader] = wait_settled(c, 4, "1,2,3,4");
  REQUIRE(new_leader != 0);
  REQUIRE(writer.wait_progress(20));
  writer.stop();

  nlohmann::json n4 = c.node(after, 4);
  CHECK((info(n4, "role") == "follower" || info(n4, "role") == "leader"));
  CHECK(cmdline(n4["pid"].get<pid_t>()).find("--join") != std::string::npos);
  for (int id : {1, 2, 3}) CHECK(c.node(after, id)["pid"] == pids[id]);
  check_no_error_replies(writer, c);
  CHECK(writer.reconnects() == 0);
  for (const char* step : {"(file changed): +node4; membership changes, one at a time: add node4",
                           "node4: learner started (added to the group at 127.0.0.1:",
                           "node4: caught up (lag ", "node4: promoted to voter"}) {
    CHECK_MESSAGE(output_has(c, step), step);
  }
  CommandResult status = c.kvcluster({"status"});
  CHECK(status.exit_code == 0);
  CHECK(status.out.find("cluster: healthy, leader node") != std::string::npos);

  // A write through node4 reads back through node1.
  auto set = call(port_of(next["nodes"][3]), {"SET", "via4", "hello"});
  REQUIRE(set.ok());
  CHECK(set->str == "OK");
  auto get = call(port_of(next["nodes"][0]), {"GET", "via4"});
  REQUIRE(get.ok());
  CHECK(get->str == "hello");
  check_all_readable(port_of(next["nodes"][3]), writer.acked());
}

TEST_CASE_FIXTURE(SettledCluster,
                  "membership: node4 added to cluster.json while kvcluster is down joins at the next up") {
  Writer writer("j", {port_of(config["nodes"][0])});
  REQUIRE(writer.wait_progress(20));
  writer.stop();
  CommandResult down = c.kvcluster({"down"});
  REQUIRE_MESSAGE(down.exit_code == 0, down.out << down.err);
  REQUIRE(c.wait_supervisor() == 0);

  nlohmann::json next = config;
  next["nodes"].push_back({{"id", 4}, {"port", pick_free_port()}, {"data_dir", "node4"}});
  c.write_config(next);
  c.start_supervisor();
  auto [after, leader4] = wait_settled(c, 4, "1,2,3,4", 40s);
  REQUIRE(leader4 != 0);
  CHECK(output_has(c, "node4: its data dir is empty and the others hold data: it joins the group"));
  CHECK(output_has(c, "node4: promoted to voter"));
  // Only the newcomer joins; the members start as members.
  for (int id : {1, 2, 3}) {
    CHECK(cmdline(c.node(after, id)["pid"].get<pid_t>()).find("--join") == std::string::npos);
  }
  CHECK(cmdline(c.node(after, 4)["pid"].get<pid_t>()).find("--join") != std::string::npos);
  CHECK(c.kvcluster({"status"}).exit_code == 0);
  // It holds what was written before it existed, and the group commits through it.
  const uint16_t port4 = port_of(next["nodes"][3]);
  check_all_readable(port4, writer.acked());
  auto set = call(port4, {"SET", "after-up", "4"});
  REQUIRE(set.ok());
  CHECK(set->str == "OK");
}

TEST_CASE_FIXTURE(SettledCluster,
                  "membership: a node taken out of cluster.json leaves the group, then stops") {
  std::map<int, pid_t> pids = pids_of(before);

  int victim = 0;
  SUBCASE("a follower") { victim = leader == 3 ? 2 : 3; }
  SUBCASE("the leader: it hands over first") { victim = leader; }
  REQUIRE(victim != 0);
  std::vector<uint16_t> others;
  nlohmann::json next = config;
  next["nodes"] = nlohmann::json::array();
  std::string voters;
  for (const auto& n : config["nodes"]) {
    if (n["id"] == victim) continue;
    next["nodes"].push_back(n);
    others.push_back(port_of(n));
    voters += (voters.empty() ? "" : ",") + std::to_string(n["id"].get<int>());
  }
  Writer writer("b", others);
  REQUIRE(writer.wait_progress(20));
  c.write_config(next);
  auto [after, new_leader] = wait_settled(c, 2, voters);
  REQUIRE(new_leader != 0);
  CHECK(new_leader != victim);
  CHECK(eventually([&] { return pid_gone(pids[victim]); }));
  REQUIRE(writer.wait_progress(20));
  writer.stop();
  check_no_error_replies(writer, c);

  std::string name = node_name(victim);
  CHECK(output_has(c, name + ": removed from the group"));
  CHECK(output_has(c, fmt::format("{} stopped (pid {}, exit 0)", name, pids[victim])));
  if (victim == leader) CHECK(output_has(c, name + ": leadership transferred to node"));
  for (const auto& n : after["nodes"]) CHECK(n["pid"] == pids[n["id"].get<int>()]);
  CHECK(c.kvcluster({"status"}).exit_code == 0);
  check_all_readable(others[1], writer.acked());
}

TEST_CASE_FIXTURE(SettledCluster,
                  "membership: a typo (duplicate id) is refused and nothing changes") {

  nlohmann::json typo = config;
  uint16_t port = pick_free_port();
  std::string why;
  SUBCASE("a duplicate id") {
    typo["nodes"].push_back({{"id", 2}, {"port", port}, {"data_dir", "node4"}});
    why = "nodes[3].id: 2 is used by nodes[1]";
  }
  SUBCASE("a port another node has") {
    port = port_of(config["nodes"][0]);
    typo["nodes"].push_back({{"id", 4}, {"port", port}, {"data_dir", "node4"}});
    why = fmt::format("nodes[3].port: {} is used by nodes[0]", port);
  }
  c.write_config(typo);
  CHECK_MESSAGE(eventually([&] { return output_has(c, why); }), c.supervisor_output());
  CHECK(output_has(c, "keeping the running config"));
  CommandResult reload = c.kvcluster({"reload"});
  CHECK(reload.exit_code == 1);
  CHECK(reload.err.find(why) != std::string::npos);
  auto [after, same_leader] = wait_settled(c, 3, "1,2,3");
  CHECK(same_leader == leader);
  CHECK(pids_of(after) == pids_of(before));
  CHECK_FALSE(output_has(c, "membership changes"));
  if (port != port_of(config["nodes"][0])) CHECK_FALSE(call(port, {"PING"}).ok());  // nothing started there
}

TEST_CASE_FIXTURE(SettledCluster,
                  "membership: a node moved to another port leaves and rejoins at it, keeping its data") {
  const int moved = leader == 3 ? 2 : 3;
  std::vector<uint16_t> others;
  for (const auto& n : config["nodes"]) {
    if (n["id"] != moved) others.push_back(port_of(n));
  }
  Writer writer("m", others);
  REQUIRE(writer.wait_progress(20));

  nlohmann::json next = config;
  const uint16_t new_port = pick_free_port();
  for (auto& n : next["nodes"]) {
    if (n["id"] == moved) n["port"] = new_port;
  }
  c.write_config(next);
  // Settled again, with the node answering at its new port.
  REQUIRE_MESSAGE(eventually([&] { return output_has(c, node_name(moved) + ": promoted to voter"); }, 40s),
                  c.supervisor_output());
  auto [after, new_leader] = wait_settled(c, 3, "1,2,3", 40s);
  REQUIRE(new_leader != 0);
  CHECK(port_of(c.node(after, moved)) == new_port);
  CHECK(output_has(c, node_name(moved) + ": removed from the group"));
  REQUIRE(writer.wait_progress(20));
  writer.stop();
  check_no_error_replies(writer, c);
  // The moved node serves at its new address and holds every acknowledged write.
  auto set = call(new_port, {"SET", "moved", "yes"});
  REQUIRE(set.ok());
  CHECK(set->str == "OK");
  check_all_readable(new_port, writer.acked());
  CHECK(c.kvcluster({"status"}).exit_code == 0);
}

TEST_CASE_FIXTURE(SettledCluster,
                  "rolling restart: every node restarts, the leader last; writers see no error") {
  std::map<int, pid_t> pids = pids_of(before);

  // One writer starts at the leader (restarted last, once it no longer leads), one at a
  // follower (restarted first); each moves on to the next node when its connection drops.
  std::vector<uint16_t> ports;
  for (const auto& n : config["nodes"]) ports.push_back(port_of(n));
  std::rotate(ports.begin(), ports.begin() + (leader - 1), ports.end());
  Writer writer("c", ports);
  std::rotate(ports.begin(), ports.begin() + 1, ports.end());
  Writer second("d", ports);
  REQUIRE(writer.wait_progress(50));
  REQUIRE(second.wait_progress(50));
  CommandResult r = c.kvcluster({"restart"});
  CHECK_MESSAGE(r.exit_code == 0, r.out << r.err << c.supervisor_output());
  CHECK(r.out.find("rolling restart done: 3 nodes restarted in") != std::string::npos);
  REQUIRE(writer.wait_progress(50));
  REQUIRE(second.wait_progress(50));
  writer.stop();
  second.stop();

  auto [after, new_leader] = wait_settled(c, 3, "1,2,3");
  REQUIRE(new_leader != 0);
  for (const auto& [id, pid] : pids_of(after)) {
    CHECK(pid != pids[id]);
    CHECK(pid_gone(pids[id]));
  }
  check_no_error_replies(writer, c);
  check_no_error_replies(second, c);
  CHECK(writer.reconnects() + second.reconnects() > 0);  // the restarts were felt
  std::string out = c.supervisor_output();
  std::string name = node_name(leader);
  // The leader goes last, after handing over; each node is waited for until caught up.
  size_t handed = out.find(name + ": leadership transferred to node");
  CHECK(handed != std::string::npos);
  CHECK(out.find(name + ": restarting (rolling restart, 3 of 3)") > handed);
  for (int id : {1, 2, 3}) {
    CHECK(out.find(node_name(id) + ": caught up (lag ") != std::string::npos);
  }
  CHECK(c.kvcluster({"status"}).exit_code == 0);
  check_all_readable(port_of(config["nodes"][0]), writer.acked());
  check_all_readable(port_of(config["nodes"][1]), second.acked());

  // Refused outside raft mode, with a clear line.
  nlohmann::json independent = kvstore_config(1);
  TestCluster single;
  single.write_config(independent);
  single.start_supervisor();
  REQUIRE(single.wait_all("running", 1));
  CommandResult refused = single.kvcluster({"restart"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("a rolling restart needs \"mode\": \"raft\"") != std::string::npos);
}

}  // namespace
}  // namespace kv::cluster::test
