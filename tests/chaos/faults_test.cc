#include "chaos/faults.h"

#include <doctest/doctest.h>

#include <map>

namespace kv::chaos {
namespace {

using std::chrono::milliseconds;

TEST_CASE("fault list: all, none, a list; unknown names are rejected") {
  auto all = parse_fault_list("all");
  REQUIRE(all.ok());
  CHECK(all->size() == 5);
  CHECK(format_fault_list(all.value()) ==
        "kill-leader,kill-random,pause-leader,pause-random,membership");

  auto none = parse_fault_list("none");
  REQUIRE(none.ok());
  CHECK(none->empty());
  CHECK(format_fault_list(none.value()) == "none");

  auto some = parse_fault_list("pause-random, kill-leader,pause-random");
  REQUIRE(some.ok());
  CHECK(some.value() == std::vector<FaultKind>{FaultKind::kPauseRandom, FaultKind::kKillLeader});

  auto bad = parse_fault_list("kill-leader,partition");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("'partition'") != std::string::npos);
  CHECK_FALSE(parse_fault_list("").ok());
  CHECK_FALSE(parse_fault_list("kill-leader,").ok());
}

TEST_CASE("fault list: membership is raft only; all leaves it out of other modes") {
  auto all = parse_fault_list("all", /*raft=*/false);
  REQUIRE(all.ok());
  CHECK(format_fault_list(all.value()) == "kill-leader,kill-random,pause-leader,pause-random");
  CHECK(all_fault_kinds(false) == all.value());
  CHECK(all_fault_kinds(true).back() == FaultKind::kMembership);

  auto alone = parse_fault_list("membership");
  REQUIRE(alone.ok());
  CHECK(alone.value() == std::vector<FaultKind>{FaultKind::kMembership});
  auto refused = parse_fault_list("kill-leader,membership", /*raft=*/false);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("needs --mode raft") != std::string::npos);
  CHECK(parse_fault_list("none", /*raft=*/false).ok());
}

TEST_CASE("fault kinds: leader targeting and pauses") {
  CHECK(targets_leader(FaultKind::kKillLeader));
  CHECK(targets_leader(FaultKind::kPauseLeader));
  CHECK_FALSE(targets_leader(FaultKind::kKillRandom));
  CHECK(is_pause(FaultKind::kPauseRandom));
  CHECK_FALSE(is_pause(FaultKind::kKillLeader));
  CHECK_FALSE(targets_leader(FaultKind::kMembership));
  CHECK_FALSE(is_pause(FaultKind::kMembership));
  CHECK(needs_raft(FaultKind::kMembership));
  CHECK_FALSE(needs_raft(FaultKind::kKillRandom));
}

TEST_CASE("fault schedule: spaced by the interval, fits before the end, every kind appears") {
  ScheduleSpec spec;
  spec.duration = milliseconds(60000);
  spec.interval = milliseconds(5000);
  const auto kinds = all_fault_kinds();
  const auto plan = plan_faults(kinds, spec, 9);
  // 5, 10, ..., 55 s: the last must leave max_pause + tail = 5 s, so 55 is the last start.
  REQUIRE(plan.size() == 11);
  std::map<FaultKind, int> seen;
  for (size_t i = 0; i < plan.size(); ++i) {
    CHECK(plan[i].at == spec.interval * static_cast<int>(i + 1));
    CHECK(plan[i].at + spec.max_pause + spec.tail <= spec.duration);
    if (is_pause(plan[i].kind)) {
      CHECK(plan[i].pause >= spec.min_pause);
      CHECK(plan[i].pause <= spec.max_pause);
    } else {
      CHECK(plan[i].pause == milliseconds(0));
    }
    ++seen[plan[i].kind];
  }
  // A bag of 5 kinds drawn 11 times: each kind 2 or 3 times.
  for (FaultKind k : kinds) {
    CHECK(seen[k] >= 2);
    CHECK(seen[k] <= 3);
  }
}

TEST_CASE("fault schedule: deterministic per seed; none for no kinds or a short run") {
  ScheduleSpec spec;
  const auto kinds = all_fault_kinds();
  const auto a = plan_faults(kinds, spec, 1), b = plan_faults(kinds, spec, 1);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].kind == b[i].kind);
    CHECK(a[i].pause == b[i].pause);
    CHECK(a[i].victim_seed == b[i].victim_seed);
  }
  CHECK(plan_faults({}, spec, 1).empty());
  spec.duration = milliseconds(9000);  // 5 + 3 + 2 > 9
  CHECK(plan_faults(kinds, spec, 1).empty());
  spec.duration = milliseconds(20000);
  CHECK(plan_faults(kinds, spec, 1).size() == 3);
}

TEST_CASE("fault schedule: membership alone is a fault every interval, each with its own seed") {
  ScheduleSpec spec;
  spec.duration = milliseconds(30000);
  const auto plan = plan_faults({FaultKind::kMembership}, spec, 3);
  REQUIRE(plan.size() == 5);  // 5, 10, 15, 20, 25 s
  for (const ScheduledFault& f : plan) {
    CHECK(f.kind == FaultKind::kMembership);
    CHECK(f.pause == milliseconds(0));
  }
  CHECK(plan[0].victim_seed != plan[1].victim_seed);
}

}  // namespace
}  // namespace kv::chaos
