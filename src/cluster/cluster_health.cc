#include "cluster/cluster_health.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <vector>

namespace kv::cluster {
namespace {

using nlohmann::json;

std::string str(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key)) return "";
  const json& v = obj.at(key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

std::string info_field(const json& node, const char* key) {
  return node.contains("info") ? str(node.at("info"), key) : "";
}

bool answering(const json& node) {
  if (node.contains("answering") && node.at("answering").is_boolean()) {
    return node.at("answering").get<bool>();
  }
  return str(node, "state") == "running";
}

// Members: nodes of the file (those a reload is removing do not count).
std::vector<json> members_of(const json& nodes) {
  std::vector<json> members;
  if (!nodes.is_array()) return members;
  for (const auto& n : nodes) {
    if (!n.value("removing", false)) members.push_back(n);
  }
  return members;
}

// Raft: why a node does not vote (yet), or "" for a voter: joining under a live reload (or
// started with --join and not added yet), a learner, or removed from the group.
std::string non_voter(const json& node) {
  std::string role = info_field(node, "role");
  if (role == "learner" || role == "joining" || role == "removed") return role;
  return str(node, "change") == "joining" ? "joining" : "";
}

// Why a member does not answer, in a word: "node3 failed", "node2 unreachable".
std::string down_text(const json& node) {
  std::string state = str(node, "state");
  static const std::map<std::string, std::string> kWords = {{"remote", "unreachable"},
                                                            {"backoff", "restarting"},
                                                            {"unsupervised", "not answering"},
                                                            {"running", "not answering"},
                                                            {"", "down"}};
  auto it = kWords.find(state);
  return str(node, "name") + " " + (it == kWords.end() ? state : it->second);
}

// "node7" for leader_id 7; empty for 0 / absent.
std::string leader_name(const json& node) {
  std::string id = info_field(node, "leader_id");
  if (id.empty() || id == "0") return "";
  if (id.find_first_not_of("0123456789") != std::string::npos) return id;
  return "node" + id;
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

}  // namespace

int ClusterHealth::exit_code() const {
  switch (level) {
    case HealthLevel::kHealthy:
      return kExitHealthy;
    case HealthLevel::kDegraded:
      return kExitDegraded;
    case HealthLevel::kNoQuorum:
      return kExitNoQuorum;
  }
  return kExitNoQuorum;
}

json ClusterHealth::to_json() const {
  static const char* const kLevels[] = {"healthy", "degraded", "no_quorum"};
  return {{"level", kLevels[static_cast<int>(level)]},
          {"summary", summary},
          {"members", members},
          {"up", up},
          {"leader", leader.empty() ? json(nullptr) : json(leader)},
          {"term", term.empty() ? json(nullptr) : json(term)},
          {"non_voters", non_voters},
          {"exit_code", exit_code()}};
}

namespace {

// The verdict on the voters (members: nodes of the file that vote).
ClusterHealth assess_voters(const std::vector<json>& members) {
  ClusterHealth h;
  h.members = static_cast<int>(members.size());
  const int majority = h.members / 2 + 1;
  std::vector<std::string> down;
  std::map<std::string, int> votes;  // leader name -> members naming it
  for (const auto& n : members) {
    if (!answering(n)) {
      down.push_back(down_text(n));
      continue;
    }
    h.up++;
    if (std::string l = leader_name(n); !l.empty()) votes[l]++;
  }
  std::string counts = fmt::format("{} of {} members up", h.up, h.members);
  if (h.up < majority) {
    h.summary = fmt::format("NO QUORUM: {}", counts);
    if (!down.empty()) h.summary += fmt::format(" ({})", join(down, ", "));
    return h;
  }
  std::string leader;
  int best = 0;
  for (const auto& [name, count] : votes) {
    if (count > best) leader = name, best = count;
  }
  if (best < majority) {
    h.summary = fmt::format("NO QUORUM: no leader known by a majority ({})", counts);
    return h;
  }
  h.leader = leader;

  // Everything that keeps a cluster with a leader from being healthy, in file order.
  std::vector<std::string> problems = down;
  std::vector<std::string> terms_of_voters;
  bool leader_seen = false;
  for (const auto& n : members) {
    if (!answering(n)) continue;
    std::string name = str(n, "name"), role = info_field(n, "role"), term = info_field(n, "term");
    std::string sees = leader_name(n);
    if (name == leader) {
      leader_seen = true;
      if (!term.empty()) h.term = term;
      if (role != "leader") {
        problems.push_back(
            fmt::format("{} is named leader but reports role {}", name, role.empty() ? "-" : role));
      }
      continue;
    }
    if (sees == leader) {
      terms_of_voters.push_back(term);
    } else if (role == "leader") {
      problems.push_back(fmt::format("{} also claims to lead{}", name,
                                     term.empty() ? "" : fmt::format(" (term {})", term)));
    } else {
      problems.push_back(sees.empty() ? name + " sees no leader" : name + " follows " + sees);
    }
  }
  if (!leader_seen && std::find_if(members.begin(), members.end(), [&](const json& n) {
                        return str(n, "name") == leader;
                      }) == members.end()) {
    problems.push_back(fmt::format("the leader {} is not in cluster.json", leader));
  }
  if (h.term.empty() && !terms_of_voters.empty()) h.term = terms_of_voters.front();
  std::string term_text = h.term.empty() ? "" : ", term " + h.term;
  if (problems.empty()) {
    h.level = HealthLevel::kHealthy;
    h.summary = fmt::format("cluster: healthy, leader {}{}", leader, term_text);
  } else {
    h.level = HealthLevel::kDegraded;
    h.summary = fmt::format("degraded: {}; {}, leader {}{}", join(problems, ", "), counts, leader,
                            term_text);
  }
  return h;
}

}  // namespace

ClusterHealth assess_raft_health(const json& nodes) {
  std::vector<json> members;
  std::vector<std::string> non_voters, shown;
  for (const auto& n : members_of(nodes)) {
    if (std::string why = non_voter(n); !why.empty()) {
      non_voters.push_back(str(n, "name"));
      shown.push_back(fmt::format("{} ({})", str(n, "name"), why));
    } else {
      members.push_back(n);
    }
  }
  ClusterHealth h = assess_voters(members);
  h.non_voters = non_voters;
  if (!shown.empty()) h.summary += "; not voting: " + join(shown, ", ");
  return h;
}

ClusterHealth assess_independent_health(const json& nodes) {
  ClusterHealth h;
  std::vector<json> members = members_of(nodes);
  h.members = static_cast<int>(members.size());
  std::vector<std::string> down;
  for (const auto& n : members) {
    if (answering(n)) {
      h.up++;
    } else {
      down.push_back(down_text(n));
    }
  }
  std::string counts = fmt::format("{} of {} nodes running", h.up, h.members);
  if (h.members > 0 && down.empty()) {
    h.level = HealthLevel::kHealthy;
    h.summary = fmt::format("cluster: all {} independent nodes running", h.members);
  } else {
    h.level = HealthLevel::kDegraded;
    h.summary = down.empty() ? "degraded: no nodes"
                             : fmt::format("degraded: {}; {}", join(down, ", "), counts);
  }
  return h;
}

ClusterHealth assess_health(const json& status) {
  const json& nodes = status.is_object() && status.contains("nodes") ? status.at("nodes") : json();
  if (str(status, "mode") == "raft") return assess_raft_health(nodes);
  return assess_independent_health(nodes);
}

}  // namespace kv::cluster
