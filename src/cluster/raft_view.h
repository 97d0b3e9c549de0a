// RaftView: what one node's INFO says about the Raft group (membership-interface fields:
// role, ids, indexes, voters, learners and one peer_<id> line per other member), parsed from
// the field map HealthProbe returns, plus the questions the supervisor asks of a leader's
// view before it moves a node: has this member caught up, and would stopping that one still
// leave a majority of voters reachable. Pure; value types.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kv::cluster {

// One peer_<id> line: "addr=127.0.0.1:9002,match=1234,lag=0,link=up,role=voter,active=1".
// match, lag and active are given by the leader only.
struct PeerView {
  std::string addr;
  std::optional<uint64_t> match, lag;
  bool link_up = false;
  std::optional<bool> active;  // the leader heard from it lately (what its quorum checks use)
  std::string role;            // "voter", "learner", or "" when not given
  // Reachable as far as the leader can tell: active when given, else the link.
  bool reachable() const { return active.value_or(link_up); }
};

struct RaftView {
  // leader, follower, candidate, learner, joining (--join, not added yet), removed; "" when
  // the node has no raft.
  std::string role;
  int node_id = 0;
  int leader_id = 0;  // 0: unknown
  std::string leader_addr;
  uint64_t term = 0, commit_index = 0, applied_index = 0, last_index = 0;
  bool has_membership = false;  // the node reports voters/learners
  std::vector<int> voters, learners;
  bool config_pending = false;
  std::map<int, PeerView> peers;  // by id: every other member

  bool is_leader() const { return role == "leader" && node_id != 0; }
  bool is_voter(int id) const;
  bool is_learner(int id) const;
  bool is_member(int id) const { return is_voter(id) || is_learner(id); }
};

// Fields absent or malformed keep their defaults.
RaftView parse_raft_view(const std::map<std::string, std::string>& info);
// "1,2,3" -> {1, 2, 3}; items that are not numbers are skipped.
std::vector<int> parse_id_list(const std::string& text);

// Seen from the leader: member id is reachable with its link up and lags at most max_lag
// entries. The leader itself is always caught up.
bool caught_up(const RaftView& leader, int id, uint64_t max_lag);
// Seen from the leader: the voters it reaches (itself and reachable voters), without `id`,
// still form a majority of all voters. *why says which are missing when not.
bool majority_without(const RaftView& leader, int id, std::string* why);
// The voter the leader would best hand over to: caught up (as above) with the smallest lag
// (lowest id on a tie), never `except`; 0 when there is none.
int best_transfer_target(const RaftView& leader, int except, uint64_t max_lag);

}  // namespace kv::cluster
