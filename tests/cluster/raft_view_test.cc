// RaftView: parsing a node's INFO fields (membership-interface.md), and the questions the
// supervisor asks of a leader's view before it moves a node.
#include "cluster/raft_view.h"

#include <doctest/doctest.h>

namespace kv::cluster {
namespace {

// A leader (node 1) of voters 1,2,3 with learner 4: node 2 current, node 3 behind and silent.
std::map<std::string, std::string> leader_info() {
  return {{"role", "leader"},
          {"node_id", "1"},
          {"term", "6"},
          {"leader_id", "1"},
          {"leader_addr", "127.0.0.1:9001"},
          {"commit_index", "120"},
          {"applied_index", "119"},
          {"last_index", "121"},
          {"members", "4"},
          {"voters", "1,2,3"},
          {"learners", "4"},
          {"config_pending", "0"},
          {"peer_2", "addr=127.0.0.1:9002,match=121,lag=0,link=up,role=voter,active=1"},
          {"peer_3", "addr=127.0.0.1:9003,match=20,lag=101,link=down,role=voter,active=0"},
          {"peer_4", "addr=127.0.0.1:9004,match=110,lag=11,link=up,role=learner,active=1"}};
}

TEST_CASE("parse_raft_view reads every field, peers by key") {
  RaftView v = parse_raft_view(leader_info());
  CHECK(v.is_leader());
  CHECK(v.node_id == 1);
  CHECK(v.leader_id == 1);
  CHECK(v.term == 6);
  CHECK(v.commit_index == 120);
  CHECK(v.applied_index == 119);
  CHECK(v.last_index == 121);
  CHECK(v.has_membership);
  CHECK(v.voters == std::vector<int>{1, 2, 3});
  CHECK(v.learners == std::vector<int>{4});
  CHECK(v.is_voter(3));
  CHECK(v.is_learner(4));
  CHECK_FALSE(v.is_member(5));
  CHECK_FALSE(v.config_pending);
  REQUIRE(v.peers.size() == 3);
  CHECK(v.peers[2].addr == "127.0.0.1:9002");
  CHECK(v.peers[2].match == 121u);
  CHECK(v.peers[3].lag == 101u);
  CHECK_FALSE(v.peers[3].link_up);
  CHECK(v.peers[4].role == "learner");

  // A follower's peer lines carry no match/lag/active; unknown keys and junk are skipped.
  RaftView f = parse_raft_view({{"role", "follower"},
                                {"leader_id", "1"},
                                {"voters", ""},
                                {"peer_1", "addr=[::1]:9001,link=up,role=voter,future=x"},
                                {"peer_x", "addr=h:1"}});
  CHECK_FALSE(f.is_leader());
  CHECK(f.voters.empty());
  REQUIRE(f.peers.size() == 1);
  CHECK(f.peers[1].addr == "[::1]:9001");
  CHECK_FALSE(f.peers[1].lag.has_value());
  CHECK(f.peers[1].reachable());  // no active field: the link says
  CHECK(parse_id_list("3,x,10,") == std::vector<int>{3, 10});
}

TEST_CASE("caught_up: reachable, link up, lag within bounds") {
  RaftView v = parse_raft_view(leader_info());
  CHECK(caught_up(v, 1, 0));  // the leader itself
  CHECK(caught_up(v, 2, 0));
  CHECK_FALSE(caught_up(v, 3, 1000));  // link down
  CHECK(caught_up(v, 4, 64));
  CHECK_FALSE(caught_up(v, 4, 10));
  CHECK_FALSE(caught_up(v, 9, 64));  // not a member
}

TEST_CASE("majority_without: voters the leader reaches, the stopped one not counted") {
  RaftView v = parse_raft_view(leader_info());
  std::string why;
  CHECK(majority_without(v, 3, &why));  // 1 and 2 of 3
  CHECK(majority_without(v, 4, &why));  // a learner: the voters are unchanged
  CHECK_FALSE(majority_without(v, 2, &why));
  CHECK(why == "1 of 3 voters would be left reachable, 2 needed (node3 not reachable)");
  v.peers[3].active = true;  // heard from lately, even though this link is down
  CHECK(majority_without(v, 2, &why));
}

TEST_CASE("best_transfer_target: a caught-up voter, never a learner or the excluded one") {
  RaftView v = parse_raft_view(leader_info());
  CHECK(best_transfer_target(v, 1, 64) == 2);
  CHECK(best_transfer_target(v, 2, 64) == 0);  // 3 is down, 4 a learner
  v.peers[3] = {"127.0.0.1:9003", 121, 0, true, true, "voter"};
  v.peers[2].lag = 5;
  CHECK(best_transfer_target(v, 1, 64) == 3);  // the smaller lag
}

}  // namespace
}  // namespace kv::cluster
