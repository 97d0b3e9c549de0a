#include "cluster/cluster_config.h"

#include <doctest/doctest.h>

namespace kv::cluster {
namespace {

Result<ClusterConfig> parse(const std::string& text) {
  return parse_cluster_config(text, "/etc/kv/cluster.json", "/opt/kv/kvstore");
}

std::string error_of(const std::string& text) {
  auto r = parse(text);
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

const char* kThree = R"({"nodes": [
  {"id": 1, "port": 9001, "data_dir": "node1"},
  {"id": 2, "port": 9002, "data_dir": "node2"},
  {"id": 3, "port": 9003, "data_dir": "/srv/node3"}]})";

TEST_CASE("a minimal cluster.json gets the documented defaults") {
  auto r = parse(kThree);
  REQUIRE(r.ok());
  const ClusterConfig& c = *r;
  CHECK(c.dir == "/etc/kv");
  CHECK(c.state_dir == "/etc/kv/.kvcluster");
  CHECK(c.kvstore == "/opt/kv/kvstore");
  CHECK(c.mode == "independent");
  REQUIRE(c.nodes.size() == 3);
  CHECK(c.nodes[0].name == "node1");
  CHECK(c.nodes[0].host == "127.0.0.1");
  CHECK(c.nodes[0].data_dir == "/etc/kv/node1");  // relative to the file's directory
  CHECK(c.nodes[2].data_dir == "/srv/node3");
  CHECK(c.restart.initial_backoff.count() == 100);
  CHECK(c.restart.max_backoff.count() == 10000);
  CHECK(c.restart.max_failures == 5);
  CHECK(c.stop_timeout.count() == 10000);
  CHECK(c.command(c.nodes[0]) == std::vector<std::string>{"/opt/kv/kvstore", "--port", "9001",
                                                          "--data-dir", "/etc/kv/node1"});
}

TEST_CASE("optional fields: host, args, fsync, kvstore, restart, probe") {
  auto r = parse(R"({"kvstore": "bin/kvstore", "fsync": "everysec", "stop_timeout_ms": 500,
    "restart": {"initial_backoff_ms": 10, "max_backoff_ms": 20, "healthy_after_ms": 30, "max_failures": 2},
    "probe": {"interval_ms": 50, "timeout_ms": 60, "failures": 4},
    "_comment": "ignored",
    "nodes": [{"id": 7, "host": "0.0.0.0", "port": 9007, "data_dir": "d", "args": ["--max-clients", "5"]},
              {"id": 8, "port": 9008, "data_dir": "e", "args": ["--fsync", "no"]}]})");
  REQUIRE(r.ok());
  CHECK(r->kvstore == "/etc/kv/bin/kvstore");
  CHECK(r->restart.max_failures == 2);
  CHECK(r->probe.failures == 4);
  CHECK(r->stop_timeout.count() == 500);
  CHECK(r->command(r->nodes[0]) ==
        std::vector<std::string>{"/etc/kv/bin/kvstore", "--port", "9007", "--data-dir", "/etc/kv/d",
                                 "--bind", "0.0.0.0", "--fsync", "everysec", "--max-clients", "5"});
  // A node's own --fsync wins over the top-level one (kvstore refuses the flag twice).
  CHECK(r->command(r->nodes[1]) == std::vector<std::string>{"/etc/kv/bin/kvstore", "--port", "9008",
                                                            "--data-dir", "/etc/kv/e", "--fsync",
                                                            "no"});
  CHECK(ClusterConfig::probe_host(r->nodes[0]) == "127.0.0.1");
}

TEST_CASE("every error names the file and the field") {
  CHECK(error_of(R"({"nodes": [{"id": 1, "port": 9001, "data_dir": "a"},
                               {"id": 2, "port": 9002, "data_dir": "b"},
                               {"id": 3, "port": 9002, "data_dir": "c"}]})") ==
        "/etc/kv/cluster.json: nodes[2].port: 9002 is used by nodes[1]");
  CHECK(
      error_of(
          R"({"nodes": [{"id": 1, "port": 9001, "data_dir": "a"}, {"id": 1, "port": 9002, "data_dir": "b"}]})") ==
      "/etc/kv/cluster.json: nodes[1].id: 1 is used by nodes[0]");
  CHECK(
      error_of(
          R"({"nodes": [{"id": 1, "port": 9001, "data_dir": "a"}, {"id": 2, "port": 9002, "data_dir": "./a"}]})") ==
      "/etc/kv/cluster.json: nodes[1].data_dir: /etc/kv/a is used by nodes[0]");
  CHECK(error_of(R"({"nodes": [{"id": 1, "port": "9001", "data_dir": "a"}]})") ==
        "/etc/kv/cluster.json: nodes[0].port: must be an integer from 1 to 65535, got \"9001\"");
  CHECK(error_of(R"({"nodes": [{"id": 1, "port": 70000, "data_dir": "a"}]})")
            .find("nodes[0].port: must be") != std::string::npos);
  CHECK(error_of(R"({"nodes": [{"id": 1, "data_dir": "a"}]})") ==
        "/etc/kv/cluster.json: nodes[0].port: is required");
  CHECK(error_of(R"({"nodes": [{"id": 1, "port": 9001}]})") ==
        "/etc/kv/cluster.json: nodes[0].data_dir: is required");
  CHECK(error_of(R"({"nodes": [{"id": 1, "prot": 9001, "data_dir": "a"}]})")
            .find("nodes[0].prot: unknown field (known: id, host, port, data_dir, args)") !=
        std::string::npos);
  CHECK(error_of(
            R"({"nodes": [{"id": 1, "port": 9001, "data_dir": "a", "args": ["--port", "1"]}]})") ==
        "/etc/kv/cluster.json: nodes[0].args[0]: --port is set by kvcluster from nodes[0].port");
  CHECK(error_of(R"({"nodes": [{"id": 1, "port": 9001, "data_dir": "a", "args": [3]}]})") ==
        "/etc/kv/cluster.json: nodes[0].args[0]: must be a string, got 3");
  CHECK(error_of(R"({"nodes": []})") ==
        "/etc/kv/cluster.json: nodes: is empty: a cluster needs at least one node");
  CHECK(error_of(R"({})") == "/etc/kv/cluster.json: nodes: is required (an array of nodes)");
  CHECK(error_of(R"([])") ==
        "/etc/kv/cluster.json: (top level): must be an object with a \"nodes\" array");
  CHECK(error_of(R"({"mode": "raft", "nodes": []})").find("mode: \"raft\" is not available") !=
        std::string::npos);
  CHECK(error_of(R"({"fsync": "sometimes", "nodes": []})").find("fsync: must be") !=
        std::string::npos);
  CHECK(error_of(R"({"restart": {"max_failures": -1}, "nodes": []})")
            .find("restart.max_failures: must be") != std::string::npos);
  CHECK(error_of(R"({"restart": {"initial_backoff_ms": 50, "max_backoff_ms": 10}, "nodes": []})") ==
        "/etc/kv/cluster.json: restart.max_backoff_ms: 10 is less than restart.initial_backoff_ms "
        "(50)");
}

TEST_CASE("a JSON syntax error gives line and column") {
  std::string err = error_of("{\n  \"nodes\": [\n    {\"id\": 1,, }\n  ]\n}\n");
  CHECK(err.find("/etc/kv/cluster.json: line 3, column ") == 0);
  CHECK(err.find("syntax error") != std::string::npos);
}

TEST_CASE("a missing file is an error naming it") {
  auto r = load_cluster_config("/nonexistent/cluster.json", "kvstore");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("/nonexistent/cluster.json: cannot read") == 0);
}

TEST_CASE("diff_configs: by node id; only command-line changes count") {
  auto before = parse(kThree);
  auto after = parse(R"({"nodes": [
    {"id": 1, "port": 9001, "data_dir": "node1", "args": ["--fsync", "no"]},
    {"id": 2, "port": 9002, "data_dir": "node2"},
    {"id": 4, "port": 9004, "data_dir": "node4"}], "restart": {"max_failures": 9}})");
  REQUIRE(before.ok());
  REQUIRE(after.ok());
  ConfigDiff d = diff_configs(*before, *after);
  CHECK(d.added == std::vector<int>{4});
  CHECK(d.removed == std::vector<int>{3});
  CHECK(d.changed == std::vector<int>{1});
  CHECK(d.summary() == "+node4 -node3 ~node1");
  CHECK(diff_configs(*before, *before).empty());
  CHECK(diff_configs(*before, *before).summary() == "no node changes");
}

}  // namespace
}  // namespace kv::cluster
