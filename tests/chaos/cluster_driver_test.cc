// The pure parts of the cluster driver (cluster.json, INFO and status parsing) and the process
// helpers it stands on. The cluster.json is fed to kvcluster's own parser, so a schema change
// there shows up here rather than as a chaos run that cannot start.
#include "chaos/cluster_driver.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <set>

#include "chaos/process_util.h"
#include "cluster/cluster_config.h"
#include "testing/test_util.h"

namespace kv::chaos {
namespace {

using std::chrono::milliseconds;

TEST_CASE("cluster.json: raft mode, fsync always, quick restarts, nodes on the given ports") {
  ClusterSpec spec;
  spec.kvstore = "/opt/kv/kvstore";
  const nlohmann::json j = make_cluster_json(spec, {7001, 7002, 7003});
  CHECK(j["mode"] == "raft");
  CHECK(j["fsync"] == "always");
  CHECK(j["restart"]["initial_backoff_ms"].get<int>() <= 100);
  REQUIRE(j["nodes"].size() == 3);
  CHECK(j["nodes"][1]["id"] == 2);
  CHECK(j["nodes"][1]["port"] == 7002);
  CHECK(j["nodes"][1]["data_dir"] == "node2");
  CHECK_FALSE(j["nodes"][0].contains("args"));

  auto config = cluster::parse_cluster_config(j.dump(), "/tmp/x/cluster.json", "/usr/bin/false");
  REQUIRE_MESSAGE(config.ok(), config.status().ToString());
  CHECK(config->mode == "raft");
  CHECK(config->kvstore == "/opt/kv/kvstore");
  REQUIRE(config->nodes.size() == 3);
  CHECK(config->nodes[2].port == 7003);
  CHECK(config->nodes[2].data_dir == "/tmp/x/node3");
  CHECK(config->restart.max_failures >= 100);
}

TEST_CASE("cluster.json: --unsafe passes --unsafe-local-reads to every node; independent mode") {
  ClusterSpec spec;
  spec.mode = "independent";
  spec.unsafe_local_reads = true;
  spec.nodes = 2;
  spec.kvstore = "/opt/kv/kvstore";
  const nlohmann::json j = make_cluster_json(spec, {7001, 7002});
  auto config = cluster::parse_cluster_config(j.dump(), "/tmp/x/cluster.json", "/usr/bin/false");
  REQUIRE_MESSAGE(config.ok(), config.status().ToString());
  CHECK(config->mode == "independent");
  REQUIRE(config->nodes.size() == 2);
  for (const auto& n : config->nodes) {
    CHECK(n.args == std::vector<std::string>{"--unsafe-local-reads"});
  }
}

TEST_CASE("parse_info: fields of every section; headers, blanks and CRs dropped") {
  const auto f = parse_info(
      "# Server\r\nprocess_id:123\r\nredis_version:7.0.0\r\n\r\n# Raft\r\nrole:leader\r\n"
      "term:7\r\nleader_addr:127.0.0.1:9001\r\nleader_id:2\r\n");
  CHECK(f.at("process_id") == "123");
  CHECK(f.at("role") == "leader");
  CHECK(f.at("term") == "7");
  CHECK(f.at("leader_addr") == "127.0.0.1:9001");  // split at the first colon only
  CHECK(f.at("leader_id") == "2");
  CHECK(f.count("# Server") == 0);
}

TEST_CASE("parse_status: pid, state, restarts and last exit per node") {
  auto nodes = parse_status(
      R"({"nodes":[{"id":1,"pid":100,"state":"running","restarts":0,"last_exit":null},)"
      R"({"id":2,"pid":null,"state":"backoff","restarts":4,"last_exit":"exit code 1"},)"
      R"({"id":3,"pid":300,"state":"running"}],"supervisor":{"pid":50}})");
  REQUIRE(nodes.ok());
  REQUIRE(nodes->size() == 3);
  CHECK(nodes->at(1).pid == 100);
  CHECK(nodes->at(1).state == "running");
  CHECK(nodes->at(1).last_exit.empty());
  CHECK(nodes->at(2).pid == 0);
  CHECK(nodes->at(2).restarts == 4);
  CHECK(nodes->at(2).last_exit == "exit code 1");
  CHECK(nodes->at(3).pid == 300);
  CHECK_FALSE(parse_status("kvcluster: no supervisor").ok());
  CHECK_FALSE(parse_status(R"({"supervisor":null})").ok());
}

TEST_CASE("parse_status: membership changes kvcluster is running or has queued") {
  size_t changes = 99;
  auto nodes = parse_status(
      R"({"nodes":[{"id":1,"pid":100},{"id":4,"pid":400,"removing":true}],)"
      R"("supervisor":{"pid":50,"changes":["remove node4 (...): RAFT REMOVE","queued: add node5"]}})",
      &changes);
  REQUIRE(nodes.ok());
  CHECK(nodes->count(4) == 1);  // still stopping: still listed
  CHECK(changes == 2);
  REQUIRE(parse_status(R"({"nodes":[],"supervisor":{"changes":[]}})", &changes).ok());
  CHECK(changes == 0);
  changes = 99;
  REQUIRE(parse_status(R"({"nodes":[],"supervisor":null})", &changes).ok());
  CHECK(changes == 0);
}

TEST_CASE("parse_id_list and NodeView membership: INFO raft voters and learners") {
  CHECK(parse_id_list("1,2,3") == std::vector<int>{1, 2, 3});
  CHECK(parse_id_list("").empty());
  CHECK(parse_id_list("4") == std::vector<int>{4});
  CHECK(parse_id_list("1,x,3,2a") == std::vector<int>{1, 3});
  NodeView v;
  v.voters = {1, 3, 4};
  v.learners = {5};
  CHECK(v.is_voter(4));
  CHECK_FALSE(v.is_voter(5));
  CHECK(v.is_member(5));
  CHECK_FALSE(v.is_member(2));
}

TEST_CASE("spawn_process: own process group, output to a file, exit status") {
  kv::testing::TempDir dir;
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3"};
  o.output_path = dir.file("log");
  auto pid = spawn_process(o);
  REQUIRE(pid.ok());
  auto status = wait_for_exit(pid.value(), milliseconds(10000));
  REQUIRE(status.has_value());
  CHECK(describe_wait_status(*status) == "exit code 3");
  CHECK(kv::testing::read_file(dir.file("log")) == "out\nerr\n");

  o.argv = {"/bin/sleep", "30"};
  o.output_path.clear();
  pid = spawn_process(o);
  REQUIRE(pid.ok());
  CHECK(::getpgid(pid.value()) == pid.value());
  auto st = read_proc_stat(pid.value());
  REQUIRE(st.has_value());
  CHECK(st->ppid == ::getpid());
  CHECK_FALSE(try_reap(pid.value()).has_value());
  CHECK_FALSE(wait_for_exit(pid.value(), milliseconds(20)).has_value());
  ::kill(pid.value(), SIGKILL);
  status = wait_for_exit(pid.value(), milliseconds(10000));
  REQUIRE(status.has_value());
  CHECK(describe_wait_status(*status) == "killed by SIGKILL");

  o.argv = {"/nonexistent/binary"};
  pid = spawn_process(o);
  REQUIRE(pid.ok());
  status = wait_for_exit(pid.value(), milliseconds(10000));
  REQUIRE(status.has_value());
  CHECK(describe_wait_status(*status) == "exit code 127");
}

TEST_CASE("signal_process: only the process that still matches parent and start time") {
  SpawnOptions o;
  o.argv = {"/bin/sleep", "30"};
  auto pid = spawn_process(o);
  REQUIRE(pid.ok());
  auto st = read_proc_stat(pid.value());
  REQUIRE(st.has_value());

  const Status wrong_parent = signal_process({pid.value(), ::getpid() + 1, std::nullopt}, SIGKILL);
  CHECK(wrong_parent.is_invalid_argument());
  const Status reused = signal_process({pid.value(), std::nullopt, st->start_time + 1}, SIGKILL);
  CHECK(reused.is_invalid_argument());
  CHECK_FALSE(wait_for_exit(pid.value(), milliseconds(20)).has_value());  // still running

  CHECK(signal_process({pid.value(), ::getpid(), st->start_time}, SIGKILL).ok());
  auto status = wait_for_exit(pid.value(), milliseconds(10000));
  REQUIRE(status.has_value());
  CHECK(describe_wait_status(*status) == "killed by SIGKILL");
  CHECK(signal_process({pid.value(), ::getpid(), st->start_time}, SIGKILL).is_not_found());
  CHECK(signal_process({0, std::nullopt, std::nullopt}, SIGKILL).is_invalid_argument());
}

TEST_CASE("run_command: captures stdout; a command over its time is killed") {
  auto out = run_command({"/bin/sh", "-c", "echo hello; echo noise >&2"}, milliseconds(10000));
  REQUIRE(out.ok());
  CHECK(out->out == "hello\n");
  CHECK(describe_wait_status(out->wait_status) == "exit code 0");

  auto slow = run_command({"/bin/sleep", "30"}, milliseconds(100));
  CHECK_FALSE(slow.ok());
}

TEST_CASE("read_proc_stat and pick_free_ports") {
  auto self = read_proc_stat(::getpid());
  REQUIRE(self.has_value());
  CHECK(self->ppid == ::getppid());
  CHECK(self->start_time > 0);
  CHECK_FALSE(read_proc_stat(0).has_value());

  auto ports = pick_free_ports(5);
  REQUIRE(ports.ok());
  REQUIRE(ports->size() == 5);
  std::set<uint16_t> distinct(ports->begin(), ports->end());
  CHECK(distinct.size() == 5);
  CHECK(distinct.count(0) == 0);
}

}  // namespace
}  // namespace kv::chaos
