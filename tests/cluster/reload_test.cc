// Live reload end to end: edits of cluster.json while `kvcluster up` runs move exactly the
// nodes whose definition changed (compared by pid), and a bad edit moves nothing.
#include <doctest/doctest.h>
#include <signal.h>

#include "cluster/cluster_harness.h"

namespace kv::cluster::test {
namespace {

TEST_CASE("reload: add, remove and change nodes; only those move; bad edits change nothing") {
  TestCluster c;
  nlohmann::json config = kvstore_config(3);
  c.write_config(config);
  c.start_supervisor();
  REQUIRE(c.wait_all("running", 3));
  nlohmann::json before = c.status();
  pid_t pid1 = c.node(before, 1)["pid"], pid2 = c.node(before, 2)["pid"],
        pid3 = c.node(before, 3)["pid"];

  // Editor-style save (temp file + rename): node1 gets args, node3 goes, node4 comes.
  nlohmann::json next = config;
  next["nodes"][0]["args"] = {"--max-clients", "100"};
  next["nodes"].erase(2);
  next["nodes"].push_back({{"id", 4}, {"port", pick_free_port()}, {"data_dir", "node4"}});
  c.write_config(next);
  nlohmann::json after;
  REQUIRE(eventually([&] {
    after = c.status();
    if (after.is_null() || after["nodes"].size() != 3) return false;
    for (const auto& n : after["nodes"]) {
      if (n["state"] != "running") return false;
    }
    return c.node(after, 1)["pid"] != pid1 && !c.node(after, 4).is_null();
  }));
  CHECK(c.node(after, 2)["pid"] == pid2);
  CHECK(c.node(after, 3).is_null());
  CHECK(eventually([&] { return pid_gone(pid3) && pid_gone(pid1); }));
  CHECK(c.node(after, 1)["restarts"] == 0);  // a requested restart is not a crash
  CHECK(c.supervisor_output().find("(file changed): +node4 -node3 ~node1") != std::string::npos);

  // A bad edit is reported and changes nothing.
  write_file_atomic(c.config_path(), "{\"nodes\": [ {\"id\": 1, }");
  CHECK(eventually([&] {
    return c.supervisor_output().find("keeping the running config") != std::string::npos;
  }));
  CommandResult r = c.kvcluster({"reload"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("cluster.json: line 1, column") != std::string::npos);
  nlohmann::json unchanged = c.status();
  for (int id : {1, 2, 4}) CHECK(c.node(unchanged, id)["pid"] == c.node(after, id)["pid"]);

  // Duplicate ports are a validation error, also kept out.
  nlohmann::json dup = next;
  dup["nodes"][1]["port"] = dup["nodes"][0]["port"];
  write_file(c.config_path(), dup.dump());
  r = c.kvcluster({"reload"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("nodes[1].port") != std::string::npos);

  // Back to the good file; SIGHUP reload: nothing to do, nobody moves.
  write_file(c.config_path(), next.dump());
  ::kill(c.supervisor_pid(), SIGHUP);
  CHECK(eventually(
      [&] { return c.supervisor_output().find("(SIGHUP): no changes") != std::string::npos; }));
  nlohmann::json last = c.status();
  for (int id : {1, 2, 4}) CHECK(c.node(last, id)["pid"] == c.node(after, id)["pid"]);
}

}  // namespace
}  // namespace kv::cluster::test
