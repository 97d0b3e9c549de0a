#include "cluster/raft_view.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace kv::cluster {
namespace {

template <typename T>
std::optional<T> number(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string field(const std::map<std::string, std::string>& info, const char* key) {
  auto it = info.find(key);
  return it == info.end() ? "" : it->second;
}

// "addr=h:p,match=5,lag=0,link=up,role=voter", by key: unknown keys are skipped.
PeerView parse_peer(const std::string& text) {
  PeerView p;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(pos, end - pos);
    pos = end + 1;
    size_t eq = item.find('=');
    if (eq == std::string::npos) continue;
    std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "addr") p.addr = value;
    if (key == "match") p.match = number<uint64_t>(value);
    if (key == "lag") p.lag = number<uint64_t>(value);
    if (key == "link") p.link_up = value == "up";
    if (key == "role") p.role = value;
    if (key == "active") p.active = value == "1";
  }
  return p;
}

bool contains(const std::vector<int>& ids, int id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

std::vector<int> parse_id_list(const std::string& text) {
  std::vector<int> ids;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    if (auto id = number<int>(std::string_view(text).substr(pos, end - pos))) ids.push_back(*id);
    pos = end + 1;
  }
  return ids;
}

bool RaftView::is_voter(int id) const { return contains(voters, id); }
bool RaftView::is_learner(int id) const { return contains(learners, id); }

RaftView parse_raft_view(const std::map<std::string, std::string>& info) {
  RaftView v;
  v.role = field(info, "role");
  v.node_id = number<int>(field(info, "node_id")).value_or(0);
  v.leader_id = number<int>(field(info, "leader_id")).value_or(0);
  v.leader_addr = field(info, "leader_addr");
  v.term = number<uint64_t>(field(info, "term")).value_or(0);
  v.commit_index = number<uint64_t>(field(info, "commit_index")).value_or(0);
  v.applied_index = number<uint64_t>(field(info, "applied_index")).value_or(0);
  v.last_index = number<uint64_t>(field(info, "last_index")).value_or(0);
  v.has_membership = info.count("voters") != 0;
  v.voters = parse_id_list(field(info, "voters"));
  v.learners = parse_id_list(field(info, "learners"));
  v.config_pending = field(info, "config_pending") == "1";
  for (const auto& [key, value] : info) {
    if (key.rfind("peer_", 0) != 0) continue;
    if (auto id = number<int>(std::string_view(key).substr(5))) v.peers[*id] = parse_peer(value);
  }
  return v;
}

bool caught_up(const RaftView& leader, int id, uint64_t max_lag) {
  if (id == leader.node_id) return true;
  auto it = leader.peers.find(id);
  if (it == leader.peers.end()) return false;
  const PeerView& p = it->second;
  return p.link_up && p.reachable() && p.lag.has_value() && *p.lag <= max_lag;
}

bool majority_without(const RaftView& leader, int id, std::string* why) {
  std::vector<int> voters = leader.voters;
  if (!leader.has_membership) {
    // An older node without a voters field: every member it names is a voter.
    voters.push_back(leader.node_id);
    for (const auto& [peer, view] : leader.peers) voters.push_back(peer);
  }
  int reachable = 0;
  std::vector<std::string> missing;
  for (int v : voters) {
    if (v == id) continue;
    auto it = leader.peers.find(v);
    if (v == leader.node_id || (it != leader.peers.end() && it->second.reachable())) {
      reachable++;
    } else {
      missing.push_back(fmt::format("node{}", v));
    }
  }
  size_t majority = voters.size() / 2 + 1;
  if (static_cast<size_t>(reachable) >= majority) return true;
  if (why != nullptr) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    *why = fmt::format("{} of {} voters would be left reachable, {} needed{}", reachable,
                       voters.size(), majority,
                       list.empty() ? "" : fmt::format(" ({} not reachable)", list));
  }
  return false;
}

int best_transfer_target(const RaftView& leader, int except, uint64_t max_lag) {
  int best = 0;
  uint64_t best_lag = 0;
  for (const auto& [id, p] : leader.peers) {
    if (id == except || id == leader.node_id) continue;
    if (leader.has_membership ? !leader.is_voter(id) : p.role == "learner") continue;
    if (!caught_up(leader, id, max_lag)) continue;
    if (best == 0 || *p.lag < best_lag) best = id, best_lag = *p.lag;
  }
  return best;
}

}  // namespace kv::cluster
