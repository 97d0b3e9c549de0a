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
  CHECK(error_of(R"({"mode": "paxos", "nodes": []})") ==
        "/etc/kv/cluster.json: mode: must be \"raft\" or \"independent\", got \"paxos\"");
  CHECK(error_of(R"({"fsync": "sometimes", "nodes": []})").find("fsync: must be") !=
        std::string::npos);
  CHECK(error_of(R"({"restart": {"max_failures": -1}, "nodes": []})")
            .find("restart.max_failures: must be") != std::string::npos);
  CHECK(error_of(R"({"restart": {"initial_backoff_ms": 50, "max_backoff_ms": 10}, "nodes": []})") ==
        "/etc/kv/cluster.json: restart.max_backoff_ms: 10 is less than restart.initial_backoff_ms "
        "(50)");
}

const char* kRaftThree = R"({"mode": "raft", "nodes": [
  {"id": 1, "port": 9001, "data_dir": "node1"},
  {"id": 2, "host": "0.0.0.0", "port": 9002, "data_dir": "node2"},
  {"id": 7, "port": 9007, "data_dir": "node7", "args": ["--election-timeout-ms", "500"]}]})";

TEST_CASE("mode raft: every node gets --id and --peers listing all nodes in file order") {
  auto r = parse(kRaftThree);
  REQUIRE(r.ok());
  CHECK(r->mode == "raft");
  CHECK(r->raft());
  CHECK_FALSE(r->secret.has_value());
  const std::string peers = "1=127.0.0.1:9001,2=127.0.0.1:9002,7=127.0.0.1:9007";
  CHECK(r->peers_flag() == peers);  // 0.0.0.0 is reached as 127.0.0.1
  CHECK(r->command(r->nodes[0]) == std::vector<std::string>{"/opt/kv/kvstore", "--port", "9001",
                                                            "--data-dir", "/etc/kv/node1", "--id",
                                                            "1", "--peers", peers});
  CHECK(r->command(r->nodes[1]) ==
        std::vector<std::string>{"/opt/kv/kvstore", "--port", "9002", "--data-dir", "/etc/kv/node2",
                                 "--bind", "0.0.0.0", "--id", "2", "--peers", peers});
  // The node's own args come last, after everything kvcluster sets.
  CHECK(r->command(r->nodes[2]) ==
        std::vector<std::string>{"/opt/kv/kvstore", "--port", "9007", "--data-dir", "/etc/kv/node7",
                                 "--id", "7", "--peers", peers, "--election-timeout-ms", "500"});
  // The secret is never on the command line.
  for (const auto& node : r->nodes) {
    for (const auto& arg : r->command(node)) CHECK(arg.find("secret") == std::string::npos);
  }
}

TEST_CASE("mode raft: a host is used as given (kvstore splits a peer at its last ':')") {
  auto r = parse(R"({"mode": "raft", "fsync": "no", "nodes": [
    {"id": 1, "host": "127.0.0.2", "port": 9001, "data_dir": "a"},
    {"id": 2, "host": "::", "port": 9002, "data_dir": "b"},
    {"id": 3, "host": "localhost", "port": 9003, "data_dir": "c"}]})");
  REQUIRE(r.ok());
  CHECK(r->peers_flag() == "1=127.0.0.2:9001,2=::1:9002,3=localhost:9003");
  CHECK(r->command(r->nodes[0]) == std::vector<std::string>{"/opt/kv/kvstore", "--port", "9001",
                                                            "--data-dir", "/etc/kv/a", "--bind",
                                                            "127.0.0.2", "--id", "1", "--peers",
                                                            r->peers_flag(), "--fsync", "no"});
}

TEST_CASE("nodes on different machines may share a port and a data_dir") {
  auto r = parse(R"({"mode": "raft", "secret": "s", "nodes": [
    {"id": 1, "host": "10.77.0.1", "port": 9001, "data_dir": "/var/lib/kvstore"},
    {"id": 2, "host": "10.77.0.2", "port": 9001, "data_dir": "/var/lib/kvstore"},
    {"id": 3, "host": "db3.example.com", "port": 9001, "data_dir": "/var/lib/kvstore"}]})");
  REQUIRE(r.ok());
  CHECK(r->peers_flag() == "1=10.77.0.1:9001,2=10.77.0.2:9001,3=db3.example.com:9001");
  // Every node gets --bind: on its own machine it listens on its own address only.
  CHECK(r->command(r->nodes[1]) == std::vector<std::string>{"/opt/kv/kvstore", "--port", "9001",
                                                            "--data-dir", "/var/lib/kvstore",
                                                            "--bind", "10.77.0.2", "--id", "2",
                                                            "--peers", r->peers_flag()});
  // Two loopback addresses are two listeners on one machine: a port each is fine, a data dir
  // is not.
  CHECK(parse(R"({"nodes": [{"id": 1, "port": 9001, "data_dir": "a"},
                            {"id": 2, "host": "127.0.0.2", "port": 9001, "data_dir": "b"}]})")
            .ok());
  CHECK(error_of(R"({"nodes": [{"id": 1, "port": 9001, "data_dir": "a"},
                               {"id": 2, "host": "127.0.0.2", "port": 9002, "data_dir": "a"}]})") ==
        "/etc/kv/cluster.json: nodes[1].data_dir: /etc/kv/a is used by nodes[0]");
  // The same host however spelled, and a wildcard, clash on a port.
  CHECK(error_of(R"({"nodes": [{"id": 1, "port": 9001, "data_dir": "a"},
                               {"id": 2, "host": "localhost", "port": 9001, "data_dir": "b"}]})") ==
        "/etc/kv/cluster.json: nodes[1].port: 9001 is used by nodes[0]");
  CHECK(error_of(R"({"nodes": [{"id": 1, "host": "10.0.0.1", "port": 9001, "data_dir": "a"},
                               {"id": 2, "host": "0.0.0.0", "port": 9001, "data_dir": "b"}]})") ==
        "/etc/kv/cluster.json: nodes[1].port: 9001 is used by nodes[0]");
  CHECK(error_of(R"({"nodes": [{"id": 1, "host": "fd00::1", "port": 9001, "data_dir": "a"},
                               {"id": 2, "host": "fd00:0::1", "port": 9001, "data_dir": "b"}]})") ==
        "/etc/kv/cluster.json: nodes[1].port: 9001 is used by nodes[0]");
}

TEST_CASE("mode: absent is independent (older files); independent adds no raft flags") {
  auto absent = parse(kThree);
  auto independent = parse(R"({"mode": "independent", "nodes": [
    {"id": 1, "port": 9001, "data_dir": "node1", "args": ["--id", "5"]}]})");
  REQUIRE(absent.ok());
  REQUIRE(independent.ok());
  CHECK(absent->mode == "independent");
  CHECK_FALSE(absent->raft());
  // In independent mode --id and friends are the user's business, passed through.
  CHECK(independent->command(independent->nodes[0]) ==
        std::vector<std::string>{"/opt/kv/kvstore", "--port", "9001", "--data-dir", "/etc/kv/node1",
                                 "--id", "5"});
}

TEST_CASE("mode raft: args may not set --id, --peers or --cluster-secret") {
  auto with_args = [](const std::string& args) {
    return R"({"mode": "raft", "nodes": [{"id": 1, "port": 9001, "data_dir": "a"},
               {"id": 2, "port": 9002, "data_dir": "b", "args": )" +
           args + "}]}";
  };
  CHECK(error_of(with_args(R"(["--id", "2"])")) ==
        "/etc/kv/cluster.json: nodes[1].args[0]: --id is set by kvcluster from nodes[1].id in "
        "mode \"raft\"");
  CHECK(error_of(with_args(R"(["--fsync", "no", "--peers=1=x:1"])")) ==
        "/etc/kv/cluster.json: nodes[1].args[2]: --peers is set by kvcluster from the nodes list "
        "in mode \"raft\"");
  std::string err = error_of(with_args(R"(["--cluster-secret", "hunter2"])"));
  // The flag is named without its value: --cluster-secret=S must not echo S.
  CHECK(error_of(with_args(R"(["--cluster-secret=hunter2"])")).find("hunter2") ==
        std::string::npos);
  CHECK(err.find("/etc/kv/cluster.json: nodes[1].args[0]: --cluster-secret is set by kvcluster "
                 "from the top-level \"secret\"") == 0);
  CHECK(err.find("KV_CLUSTER_SECRET") != std::string::npos);
  CHECK(err.find("hunter2") == std::string::npos);
  CHECK(error_of(with_args(R"(["--port", "1"])")) ==
        "/etc/kv/cluster.json: nodes[1].args[0]: --port is set by kvcluster from nodes[1].port");
}

TEST_CASE("secret: optional non-empty string without control characters, never quoted") {
  auto r = parse(R"({"mode": "raft", "secret": "correct horse battery staple",
                     "nodes": [{"id": 1, "port": 9001, "data_dir": "a"}]})");
  REQUIRE(r.ok());
  REQUIRE(r->secret.has_value());
  CHECK(*r->secret == "correct horse battery staple");
  CHECK(error_of(R"({"secret": "", "nodes": []})") ==
        "/etc/kv/cluster.json: secret: must be a non-empty string");
  CHECK(error_of(R"({"secret": 123456, "nodes": []})") ==
        "/etc/kv/cluster.json: secret: must be a non-empty string");
  std::string err = error_of(R"({"secret": "abc\ndef", "nodes": []})");
  CHECK(err ==
        "/etc/kv/cluster.json: secret: contains a control character (NUL, newline, tab, ...)");
  CHECK(error_of(R"({"secret": "abc\u0000def", "nodes": []})").find("secret: contains") !=
        std::string::npos);
}

TEST_CASE("the shipped cluster.json: three nodes in mode raft") {
  auto r = load_cluster_config(std::string(KV_SOURCE_DIR) + "/cluster.json", "/opt/kv/kvstore");
  REQUIRE(r.ok());
  CHECK(r->raft());
  CHECK_FALSE(r->secret.has_value());  // generated per checkout, kept in .kvcluster/secret
  REQUIRE(r->nodes.size() == 3);
  CHECK(r->peers_flag() == "1=127.0.0.1:9001,2=127.0.0.1:9002,3=127.0.0.1:9003");
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
  // A new cluster secret: every node kept restarts; added ones are still "added".
  ConfigDiff all = diff_configs(*before, *after, /*restart_all=*/true);
  CHECK(all.added == std::vector<int>{4});
  CHECK(all.removed == std::vector<int>{3});
  CHECK(all.changed == std::vector<int>{1, 2});
}

TEST_CASE("diff_configs in raft mode: adding a node changes every node's --peers") {
  auto before = parse(kRaftThree);
  auto after = parse(R"({"mode": "raft", "nodes": [
    {"id": 1, "port": 9001, "data_dir": "node1"},
    {"id": 2, "host": "0.0.0.0", "port": 9002, "data_dir": "node2"},
    {"id": 7, "port": 9007, "data_dir": "node7", "args": ["--election-timeout-ms", "500"]},
    {"id": 8, "port": 9008, "data_dir": "node8"}]})");
  auto independent = parse(R"({"nodes": [
    {"id": 1, "port": 9001, "data_dir": "node1"},
    {"id": 2, "host": "0.0.0.0", "port": 9002, "data_dir": "node2"},
    {"id": 7, "port": 9007, "data_dir": "node7", "args": ["--election-timeout-ms", "500"]}]})");
  REQUIRE(before.ok());
  REQUIRE(after.ok());
  REQUIRE(independent.ok());
  CHECK(diff_configs(*before, *after).summary() == "+node8 ~node1 ~node2 ~node7");
  CHECK(diff_configs(*before, *before).empty());
  // Switching mode changes every command line.
  CHECK(diff_configs(*independent, *before).summary() == "~node1 ~node2 ~node7");
}

}  // namespace
}  // namespace kv::cluster
