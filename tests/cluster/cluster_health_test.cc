// The cluster's health as `kvcluster status` judges it from a status document: the level, the
// exit code and the one-line summary, for raft and independent mode.
#include "cluster/cluster_health.h"

#include <doctest/doctest.h>

namespace kv::cluster {
namespace {

using nlohmann::json;

// A raft member that answers: role, term, leader_id as INFO reports them.
json member(int id, const char* role, int leader, int term = 5) {
  return {
      {"id", id},
      {"name", "node" + std::to_string(id)},
      {"state", "running"},
      {"answering", true},
      {"info",
       {{"role", role}, {"term", std::to_string(term)}, {"leader_id", std::to_string(leader)}}}};
}

json down(int id, const char* state) {
  return {{"id", id},
          {"name", "node" + std::to_string(id)},
          {"state", state},
          {"answering", false},
          {"info", json::object()}};
}

// (A vector, not a json: {member(...)} with one element would be that object, not an array.)
ClusterHealth raft(const std::vector<json>& nodes) {
  return assess_health({{"mode", "raft"}, {"nodes", json(nodes)}});
}

TEST_CASE("raft: all members answer and follow one leader: healthy, exit 0") {
  ClusterHealth h =
      raft({member(1, "follower", 2), member(2, "leader", 2), member(3, "follower", 2)});
  CHECK(h.level == HealthLevel::kHealthy);
  CHECK(h.exit_code() == 0);
  CHECK(h.summary == "cluster: healthy, leader node2, term 5");
  CHECK(h.members == 3);
  CHECK(h.up == 3);
  CHECK(h.leader == "node2");
  CHECK(h.to_json() == json{{"level", "healthy"},
                            {"summary", h.summary},
                            {"members", 3},
                            {"up", 3},
                            {"leader", "node2"},
                            {"term", "5"},
                            {"non_voters", json::array()},
                            {"exit_code", 0}});
  // One node is a cluster of one: its own majority.
  CHECK(raft({member(1, "leader", 1, 1)}).summary == "cluster: healthy, leader node1, term 1");
}

TEST_CASE("raft: only voters count; learners and joining nodes are listed, not counted") {
  json joining = down(4, "stopped");
  joining["change"] = "joining";
  ClusterHealth h = raft({member(1, "leader", 1), member(2, "follower", 1),
                          member(3, "follower", 1), member(5, "learner", 1), joining});
  CHECK(h.level == HealthLevel::kHealthy);
  CHECK(h.members == 3);
  CHECK(h.up == 3);
  CHECK(h.summary ==
        "cluster: healthy, leader node1, term 5; not voting: node5 (learner), node4 (joining)");
  CHECK(h.to_json()["non_voters"] == json{"node5", "node4"});
  // A learner does not make up for a voter that is down.
  ClusterHealth two_down =
      raft({member(1, "leader", 1), down(2, "failed"), down(3, "failed"), member(4, "learner", 1)});
  CHECK(two_down.exit_code() == 2);
  CHECK(two_down.summary ==
        "NO QUORUM: 1 of 3 members up (node2 failed, node3 failed); not voting: node4 (learner)");
  // kvstore --join before it was added, and a removed node still running: not voters either.
  CHECK(raft({member(1, "leader", 1), member(2, "joining", 0), member(3, "removed", 1)}).summary ==
        "cluster: healthy, leader node1, term 5; not voting: node2 (joining), node3 (removed)");
}

TEST_CASE("raft: a majority up with a leader, but not all well: degraded, exit 1") {
  ClusterHealth h = raft({member(1, "leader", 1), member(2, "follower", 1), down(3, "failed")});
  CHECK(h.level == HealthLevel::kDegraded);
  CHECK(h.exit_code() == 1);
  CHECK(h.summary == "degraded: node3 failed; 2 of 3 members up, leader node1, term 5");

  // Each way a member can be missing says what is known about it.
  CHECK(raft({member(1, "leader", 1), member(2, "follower", 1), down(3, "backoff")}).summary ==
        "degraded: node3 restarting; 2 of 3 members up, leader node1, term 5");
  CHECK(raft({member(1, "leader", 1), member(2, "follower", 1), down(3, "remote")}).summary ==
        "degraded: node3 unreachable; 2 of 3 members up, leader node1, term 5");
  CHECK(raft({member(1, "leader", 1), member(2, "follower", 1), down(3, "unresponsive")}).summary ==
        "degraded: node3 unresponsive; 2 of 3 members up, leader node1, term 5");

  // All answer, but one has not heard of the leader, or follows another, or claims to lead.
  CHECK(raft({member(1, "leader", 1), member(2, "follower", 1), member(3, "candidate", 0, 6)})
            .summary == "degraded: node3 sees no leader; 3 of 3 members up, leader node1, term 5");
  CHECK(
      raft({member(1, "leader", 1), member(2, "follower", 1), member(3, "follower", 2)}).summary ==
      "degraded: node3 follows node2; 3 of 3 members up, leader node1, term 5");
  CHECK(raft({member(1, "leader", 1, 4), member(2, "leader", 2, 5), member(3, "follower", 2)})
            .summary ==
        "degraded: node1 also claims to lead (term 4); 3 of 3 members up, leader node2, term 5");

  // The named leader does not answer us (a partition between us and it): still a majority
  // following it, so degraded rather than no quorum; the term comes from its followers.
  ClusterHealth cut =
      raft({down(1, "remote"), member(2, "follower", 1, 9), member(3, "follower", 1, 9)});
  CHECK(cut.level == HealthLevel::kDegraded);
  CHECK(cut.summary == "degraded: node1 unreachable; 2 of 3 members up, leader node1, term 9");

  // Named by everyone but it says it is not the leader (it just stepped down).
  CHECK(raft({member(1, "follower", 1), member(2, "follower", 1), member(3, "follower", 1)})
            .summary ==
        "degraded: node1 is named leader but reports role follower; 3 of 3 members up, leader "
        "node1, term 5");
}

TEST_CASE("raft: fewer than a majority up, or no leader a majority agrees on: no quorum, exit 2") {
  ClusterHealth h = raft({member(1, "leader", 1), down(2, "failed"), down(3, "remote")});
  CHECK(h.level == HealthLevel::kNoQuorum);
  CHECK(h.exit_code() == 2);
  CHECK(h.summary == "NO QUORUM: 1 of 3 members up (node2 failed, node3 unreachable)");
  CHECK(h.leader.empty());
  CHECK(h.to_json()["leader"].is_null());

  CHECK(raft({member(1, "candidate", 0), member(2, "candidate", 0), member(3, "follower", 0)})
            .summary == "NO QUORUM: no leader known by a majority (3 of 3 members up)");
  // Two of four is not a majority of four.
  CHECK(
      raft({member(1, "leader", 1), member(2, "follower", 1), down(3, "failed"), down(4, "failed")})
          .exit_code() == 2);
  CHECK(raft({member(1, "leader", 1), member(2, "follower", 1), member(3, "follower", 3),
              member(4, "leader", 3)})
            .exit_code() == 2);
  // Five members, three up and agreeing: degraded.
  CHECK(raft({member(1, "leader", 1), member(2, "follower", 1), member(3, "follower", 1),
              down(4, "failed"), down(5, "stopped")})
            .summary ==
        "degraded: node4 failed, node5 stopped; 3 of 5 members up, leader node1, term 5");
  CHECK(raft({}).exit_code() == 2);
}

TEST_CASE("raft: nodes a reload is removing do not count; no answering field means running") {
  json leaving = member(4, "follower", 1);
  leaving["removing"] = true;
  leaving["answering"] = false;
  leaving["state"] = "stopping";
  CHECK(raft({member(1, "leader", 1), member(2, "follower", 1), member(3, "follower", 1), leaving})
            .summary == "cluster: healthy, leader node1, term 5");
  json old = member(1, "leader", 1);
  old.erase("answering");
  CHECK(raft({old}).exit_code() == 0);
  old["state"] = "starting";
  CHECK(raft({old}).exit_code() == 2);
}

TEST_CASE("independent mode: every node running is healthy (0), anything else degraded (1)") {
  json nodes = json::array({member(1, "leader", 1), member(2, "leader", 2)});
  ClusterHealth h = assess_health({{"mode", "independent"}, {"nodes", nodes}});
  CHECK(h.exit_code() == 0);
  CHECK(h.summary == "cluster: all 2 independent nodes running");
  nodes.push_back(down(3, "failed"));
  h = assess_health({{"nodes", nodes}});  // no mode: independent
  CHECK(h.exit_code() == 1);
  CHECK(h.summary == "degraded: node3 failed; 2 of 3 nodes running");
}

}  // namespace
}  // namespace kv::cluster
