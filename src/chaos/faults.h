// The faults a chaos run injects and when: the names accepted by --faults and a seeded
// schedule. Faults run one at a time, each healed (or, for a membership change, finished)
// before the next starts, with quiet time between them so the cluster can recover and the
// history shows both. Pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kv::chaos {

enum class FaultKind {
  kKillLeader,   // SIGKILL the leader; kvcluster restarts it.
  kKillRandom,   // SIGKILL a random node.
  kPauseLeader,  // SIGSTOP the leader for a while, then SIGCONT.
  kPauseRandom,  // SIGSTOP a random node for a while, then SIGCONT.
  // Raft mode only: a new node (new id, empty data dir, free port) joins through a cluster.json
  // edit and becomes a voter, then another node, sometimes the leader, is removed the same way.
  // The group is back to its size, with one member replaced.
  kMembership,
};

std::string_view to_string(FaultKind kind);
bool targets_leader(FaultKind kind);
bool is_pause(FaultKind kind);
// Whether the kind needs a replicated (raft mode) cluster: membership changes do.
bool needs_raft(FaultKind kind);

// Every fault kind that applies to the mode, in declaration order: all of them for raft, all
// but membership otherwise.
std::vector<FaultKind> all_fault_kinds(bool raft = true);

// "all" (every kind of the mode), "none" (no faults), or a comma-separated list of
// kill-leader, kill-random, pause-leader, pause-random, membership (duplicates ignored).
// InvalidArgument naming the unknown entry and the accepted names, or a raft-only kind asked
// for without raft.
Result<std::vector<FaultKind>> parse_fault_list(std::string_view text, bool raft = true);
// "kill-leader,pause-random" or "none".
std::string format_fault_list(const std::vector<FaultKind>& kinds);

struct ScheduleSpec {
  std::chrono::milliseconds duration{60000};  // the whole workload phase
  std::chrono::milliseconds interval{5000};   // from one fault's start to the next's
  std::chrono::milliseconds min_pause{1000};  // a pause lasts in [min_pause, max_pause]
  std::chrono::milliseconds max_pause{3000};
  // A fault starts only if it (at its longest) and this much quiet time fit before the end.
  // A membership fault counts as max_pause long: its two changes take well under a second on
  // a healthy cluster (a slower one delays the next fault; the run waits for it to finish).
  std::chrono::milliseconds tail{2000};
};

struct ScheduledFault {
  std::chrono::milliseconds at{0};  // since the workload started
  FaultKind kind = FaultKind::kKillLeader;
  std::chrono::milliseconds pause{0};  // pauses only
  // Picks the node of a *-random fault, and the node a membership fault removes.
  uint64_t victim_seed = 0;
};

// Faults at interval, 2*interval, ... while they fit. Kinds are drawn from a shuffled bag
// holding each kind once, refilled when empty, so every kind appears once per len(kinds)
// faults. The same seed gives the same schedule. Empty kinds: no faults.
// REQUIRES: interval > max_pause, min_pause <= max_pause.
std::vector<ScheduledFault> plan_faults(const std::vector<FaultKind>& kinds,
                                        const ScheduleSpec& spec, uint64_t seed);

}  // namespace kv::chaos
