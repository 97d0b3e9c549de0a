// Which cluster.json hosts are this machine: loopback and wildcards always, interface
// addresses and the hostname as detected, exactly a given list with --local-hosts.
#include "cluster/host_locality.h"

#include <doctest/doctest.h>

namespace kv::cluster {
namespace {

ClusterConfig config_with_hosts(const std::vector<std::string>& hosts, const char* mode = "raft") {
  std::string nodes;
  int id = 1;
  for (const auto& h : hosts) {
    nodes += (nodes.empty() ? "" : ",") + std::string(R"({"id": )") + std::to_string(id) +
             R"(, "host": ")" + h + R"(", "port": 9001, "data_dir": "/srv/kv)" +
             std::to_string(id) + R"("})";
    ++id;
  }
  auto r =
      parse_cluster_config(std::string(R"({"mode": ")") + mode + R"(", "nodes": [)" + nodes + "]}",
                           "/etc/kv/cluster.json", "/opt/kv/kvstore");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  return *r;
}

TEST_CASE("canonical addresses and the hosts that mean this machine everywhere") {
  CHECK(canonical_address("10.0.0.1") == "10.0.0.1");
  CHECK(canonical_address("0:0:0:0:0:0:0:1") == "::1");
  CHECK(canonical_address("::ffff:10.1.2.3") == "10.1.2.3");
  CHECK(canonical_address("FE80::1") == "fe80::1");
  CHECK(canonical_address("db1.example.com").empty());
  CHECK(canonical_address("10.0.0").empty());
  for (const char* h :
       {"127.0.0.1", "127.8.9.10", "::1", "0.0.0.0", "::", "localhost", "LocalHost"}) {
    CHECK_MESSAGE(is_loopback_or_wildcard(h), h);
  }
  for (const char* h : {"10.0.0.1", "128.0.0.1", "db1", "::2"}) {
    CHECK_MESSAGE(!is_loopback_or_wildcard(h), h);
  }
}

TEST_CASE("a machine: its interface addresses and hostname are local, other hosts are not") {
  HostLocality here({"127.0.0.1", "10.77.0.1", "fd00:0:0::7"}, "Db1.example.com");
  CHECK(here.is_local("127.0.0.1"));
  CHECK(here.is_local("127.0.0.2"));  // all of 127/8 is loopback
  CHECK(here.is_local("0.0.0.0"));
  CHECK(here.is_local("localhost"));
  CHECK(here.is_local("10.77.0.1"));
  CHECK(here.is_local("fd00::7"));
  CHECK(here.is_local("::ffff:10.77.0.1"));
  CHECK(here.is_local("db1.example.com"));
  CHECK(here.is_local("DB1"));  // the short name too
  CHECK_FALSE(here.is_local("10.77.0.2"));
  CHECK_FALSE(here.is_local("fd00::8"));
  CHECK(here.describe() == "127.0.0.1, 10.77.0.1, fd00::7 (host db1.example.com)");
  CHECK_FALSE(here.overridden());

  ClusterConfig c = config_with_hosts({"10.77.0.1", "10.77.0.2", "10.77.0.3"});
  CHECK(local_node_ids(c, here) == std::set<int>{1});
}

TEST_CASE("the detected machine has loopback") {
  HostLocality here = HostLocality::detect();
  CHECK(here.is_local("127.0.0.1"));
  CHECK(here.is_local("localhost"));
  CHECK(here.is_local("::1"));
}

TEST_CASE("--local-hosts: exactly the hosts listed are local, nothing is detected") {
  auto only = HostLocality::parse_list("127.0.0.1, 0:0::1,Db2");
  REQUIRE(only.ok());
  CHECK(only->overridden());
  CHECK(only->is_local("127.0.0.1"));
  CHECK(only->is_local("::1"));
  CHECK(only->is_local("db2"));
  CHECK_FALSE(only->is_local("127.0.0.2"));
  CHECK_FALSE(only->is_local("localhost"));
  CHECK_FALSE(only->is_local("0.0.0.0"));
  CHECK(only->describe() == "--local-hosts 127.0.0.1,::1,db2");

  ClusterConfig c = config_with_hosts({"127.0.0.1", "127.0.0.2", "db2"});
  CHECK(local_node_ids(c, *only) == std::set<int>{1, 3});

  CHECK_FALSE(HostLocality::parse_list("").ok());
  CHECK_FALSE(HostLocality::parse_list("10.0.0.1,,10.0.0.2").ok());
  CHECK(HostLocality::parse_list("10.0.0.1,").status().message().find("an empty item") !=
        std::string::npos);
  CHECK_FALSE(locality_for("").value().overridden());
  CHECK(locality_for("10.0.0.1").value().overridden());
}

TEST_CASE("raft mode spanning machines: a loopback host is flagged, it cannot be reached") {
  HostLocality only = HostLocality::only({"127.0.0.1", "10.0.0.1"});
  ClusterConfig c = config_with_hosts({"127.0.0.1", "10.0.0.1", "10.0.0.2"});
  std::vector<std::string> w = locality_warnings(c, local_node_ids(c, only));
  REQUIRE(w.size() == 1);
  CHECK(w[0] ==
        "warning: node1's host 127.0.0.1 cannot be reached from node3's machine (10.0.0.2): give "
        "node1 in cluster.json an address the other machines can reach");
  // All on this machine, or not raft: nothing to say.
  CHECK(locality_warnings(c, {1, 2, 3}).empty());
  ClusterConfig independent = config_with_hosts({"127.0.0.1", "10.0.0.2"}, "independent");
  CHECK(locality_warnings(independent, {1}).empty());
  // A remote node on another loopback address (tests) is reachable: no warning.
  ClusterConfig loop = config_with_hosts({"127.0.0.1", "127.0.0.2"});
  CHECK(locality_warnings(loop, {1}).empty());
}

}  // namespace
}  // namespace kv::cluster
