#include "cluster/status_view.h"

#include <doctest/doctest.h>

namespace kv::cluster {
namespace {

TEST_CASE("durations read like uptime") {
  CHECK(format_duration(0) == "0s");
  CHECK(format_duration(59) == "59s");
  CHECK(format_duration(303) == "5m03s");
  CHECK(format_duration(7500) == "2h05m");
  CHECK(format_duration(3 * 86400 + 4 * 3600) == "3d04h");
}

TEST_CASE("the table shows one row per node, raft columns only when a node reports them") {
  nlohmann::json status = {{"nodes",
                            {{{"name", "node1"},
                              {"port", 9001},
                              {"pid", 42},
                              {"state", "running"},
                              {"uptime_s", 61},
                              {"restarts", 1},
                              {"last_exit", "signal KILL"},
                              {"info", {{"db0", "keys=3,expires=0,avg_ttl=0"}}}},
                             {{"name", "node2"},
                              {"port", 9002},
                              {"pid", nullptr},
                              {"state", "failed"},
                              {"uptime_s", nullptr},
                              {"restarts", 5},
                              {"last_exit", "exit 1"},
                              {"reason", "6 exits"},
                              {"info", nlohmann::json::object()}}}}};
  std::string table = format_status_table(status);
  CHECK(table ==
        "NODE   PORT  PID  STATE    UPTIME  RESTARTS  LAST EXIT    KEYS\n"
        "node1  9001  42   running  1m01s   1         signal KILL  3\n"
        "node2  9002  -    failed   -       5         exit 1       -\n"
        "node2: 6 exits\n");
  status["nodes"][0]["info"]["role"] = "leader";
  status["nodes"][0]["info"]["term"] = "4";
  CHECK(format_status_table(status).find("ROLE    TERM  LEADER") != std::string::npos);
}

TEST_CASE("raft columns: every role, leader_id 0 as -, the commit index") {
  auto node = [](const char* name, nlohmann::json info) {
    return nlohmann::json{{"name", name},         {"port", 9001},           {"pid", 42},
                          {"state", "running"},   {"uptime_s", 5},          {"restarts", 0},
                          {"last_exit", nullptr}, {"info", std::move(info)}};
  };
  nlohmann::json status = {
      {"nodes",
       {node("node1",
             {{"role", "leader"}, {"term", "7"}, {"leader_id", "1"}, {"commit_index", "1234"}}),
        node("node2",
             {{"role", "follower"}, {"term", "7"}, {"leader_id", "1"}, {"commit_index", "1230"}}),
        node("node3",
             {{"role", "candidate"}, {"term", "8"}, {"leader_id", "0"}, {"commit_index", "1200"}}),
        node("node4", {{"role", "learner"}, {"term", "7"}, {"leader_id", "1"}}),
        node("node5", nlohmann::json::object())}}};
  CHECK(format_status_table(status) ==
        "NODE   PORT  PID  STATE    UPTIME  RESTARTS  LAST EXIT  KEYS  ROLE       TERM  LEADER  "
        "COMMIT\n"
        "node1  9001  42   running  5s      0         -          0     leader     7     node1   "
        "1234\n"
        "node2  9001  42   running  5s      0         -          0     follower   7     node1   "
        "1230\n"
        "node3  9001  42   running  5s      0         -          0     candidate  8     -       "
        "1200\n"
        "node4  9001  42   running  5s      0         -          0     learner    7     node1   "
        "-\n"
        "node5  9001  42   running  5s      0         -          -     -          -     -       "
        "-\n");
  CHECK(leader_from_info({{"leader_id", "0"}}) == "-");
  CHECK(leader_from_info(nlohmann::json::object()) == "-");
  CHECK(leader_from_info({{"leader_id", "12"}}) == "node12");
}

TEST_CASE("membership changes under way: a line per node it touches, then the queue") {
  nlohmann::json status = {{"nodes",
                            {{{"name", "node4"},
                              {"port", 9004},
                              {"pid", nullptr},
                              {"state", "stopped"},
                              {"uptime_s", nullptr},
                              {"restarts", 0},
                              {"last_exit", nullptr},
                              {"change", "joining"},
                              {"info", nlohmann::json::object()}}}},
                           {"supervisor",
                            {{"changes",
                              {"add node4 (added to cluster.json): waiting for it to catch up",
                               "queued: remove node3 (removed from cluster.json)"}}}}};
  std::string table = format_status_table(status);
  CHECK(table.find("node4: joining the group (a learner until it caught up, then a voter)\n"
                   "change: add node4 (added to cluster.json): waiting for it to catch up\n"
                   "change: queued: remove node3 (removed from cluster.json)\n") !=
        std::string::npos);
}

}  // namespace
}  // namespace kv::cluster
