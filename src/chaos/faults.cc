#include "chaos/faults.h"

#include <algorithm>
#include <random>

namespace kv::chaos {
namespace {

constexpr FaultKind kAllKinds[] = {FaultKind::kKillLeader, FaultKind::kKillRandom,
                                   FaultKind::kPauseLeader, FaultKind::kPauseRandom,
                                   FaultKind::kMembership};

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view to_string(FaultKind kind) {
  switch (kind) {
    case FaultKind::kKillLeader:
      return "kill-leader";
    case FaultKind::kKillRandom:
      return "kill-random";
    case FaultKind::kPauseLeader:
      return "pause-leader";
    case FaultKind::kPauseRandom:
      return "pause-random";
    case FaultKind::kMembership:
      return "membership";
  }
  return "?";
}

bool targets_leader(FaultKind kind) {
  return kind == FaultKind::kKillLeader || kind == FaultKind::kPauseLeader;
}

bool is_pause(FaultKind kind) {
  return kind == FaultKind::kPauseLeader || kind == FaultKind::kPauseRandom;
}

bool needs_raft(FaultKind kind) { return kind == FaultKind::kMembership; }

std::vector<FaultKind> all_fault_kinds(bool raft) {
  std::vector<FaultKind> kinds;
  for (FaultKind k : kAllKinds) {
    if (raft || !needs_raft(k)) kinds.push_back(k);
  }
  return kinds;
}

Result<std::vector<FaultKind>> parse_fault_list(std::string_view text, bool raft) {
  text = trim(text);
  if (text == "all") return all_fault_kinds(raft);
  std::vector<FaultKind> kinds;
  if (text == "none") return kinds;
  while (true) {
    const size_t comma = text.find(',');
    const std::string_view name = trim(text.substr(0, comma));
    const FaultKind* found = nullptr;
    for (const FaultKind& k : kAllKinds) {
      if (to_string(k) == name) found = &k;
    }
    if (found == nullptr) {
      return Status::InvalidArgument(
          "unknown fault '" + std::string(name) +
          "' (known: all, none, or a list of kill-leader, kill-random, pause-leader, "
          "pause-random, membership)");
    }
    if (!raft && needs_raft(*found)) {
      return Status::InvalidArgument("fault '" + std::string(name) +
                                     "' changes the raft membership: it needs --mode raft");
    }
    if (std::find(kinds.begin(), kinds.end(), *found) == kinds.end()) kinds.push_back(*found);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return kinds;
}

std::string format_fault_list(const std::vector<FaultKind>& kinds) {
  if (kinds.empty()) return "none";
  std::string s;
  for (FaultKind k : kinds) {
    if (!s.empty()) s += ",";
    s += to_string(k);
  }
  return s;
}

std::vector<ScheduledFault> plan_faults(const std::vector<FaultKind>& kinds,
                                        const ScheduleSpec& spec, uint64_t seed) {
  std::vector<ScheduledFault> plan;
  if (kinds.empty() || spec.interval.count() <= 0) return plan;
  std::mt19937_64 rng(seed);
  std::vector<FaultKind> bag;
  for (auto at = spec.interval; at + spec.max_pause + spec.tail <= spec.duration;
       at += spec.interval) {
    if (bag.empty()) {
      bag = kinds;
      std::shuffle(bag.begin(), bag.end(), rng);
    }
    ScheduledFault f;
    f.at = at;
    f.kind = bag.back();
    bag.pop_back();
    if (is_pause(f.kind)) {
      f.pause = std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(
          spec.min_pause.count(), spec.max_pause.count())(rng));
    }
    f.victim_seed = rng();
    plan.push_back(f);
  }
  return plan;
}

}  // namespace kv::chaos
