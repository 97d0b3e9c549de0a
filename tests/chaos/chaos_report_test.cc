#include "chaos/chaos_report.h"

#include <doctest/doctest.h>

#include "chaos/history_builders.h"

namespace kv::chaos {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

RunReport clean_report() {
  RunReport r;
  r.mode = "raft";
  r.nodes = 3;
  r.clients = 8;
  r.duration_s = 20;
  r.seed = 5;
  r.faults = "kill-leader";
  r.counts.get = {10, 1, 0};
  r.counts.set = {7, 0, 2};
  FaultEvent kill;
  kill.kind = FaultKind::kKillLeader;
  kill.node = 2;
  kill.pid = 4242;
  kill.start_ns = kill.end_ns = 5'000'000'000;
  kill.applied = true;
  kill.note = "leader, term 3";
  FaultEvent skipped;
  skipped.kind = FaultKind::kPauseLeader;
  skipped.start_ns = 10'000'000'000;
  skipped.note = "skipped: no node reports role:leader";
  r.fault_events = {kill, skipped};
  Failover f;
  f.fault_ns = 5'000'000'000;
  f.recovered_ns = 5'750'000'000;
  r.failovers = {f};
  r.final_reads_done = true;
  r.final_reads_note = "7 keys read through the leader (node1; last seen term 4)";
  r.check.keys_checked = 7;
  return r;
}

TEST_CASE("report: a clean run is LINEARIZABLE, exit 0, with counts, faults and failovers") {
  const RunReport r = clean_report();
  CHECK(verdict_of(r) == RunVerdict::kLinearizable);
  CHECK(exit_code_of(r) == kExitOk);
  const std::string text = format_report(r);
  CHECK(contains(text, "verdict: LINEARIZABLE\n"));
  CHECK(contains(text, "faults: 1 injected (kill-leader 1), 1 skipped"));
  CHECK(contains(text, "node2 pid 4242 (leader, term 3)"));
  CHECK(contains(text, "skipped: no node reports role:leader"));
  CHECK(contains(text, "median 750 ms, max 750 ms"));
  CHECK(contains(text, "lost writes: none"));
  // GET: total 11 = ok 10 + fail 1.
  CHECK(contains(text, "  GET           11        10         1         0\n"));
  CHECK(contains(text, "  all           20        17         1         2\n"));
}

TEST_CASE("report: a lost write or a violating key is a VIOLATION, exit 1, with the window") {
  RunReport r = clean_report();
  r.lost_writes = {{"n0", "counter holds 3, but 5 INCRs were acknowledged"}};
  CHECK(exit_code_of(r) == kExitViolation);
  CHECK(contains(format_report(r), "verdict: VIOLATION (1 lost write(s))"));

  r = clean_report();
  KeyResult k;
  k.key = "r1";
  k.verdict = Verdict::kViolation;
  k.window = {{testing::Set(1, "r1", "a", 0, 10), false},
              {testing::Get(2, "r1", std::nullopt, 20, 30), false}};
  k.window_minimal = true;
  r.check.verdict = Verdict::kViolation;
  r.check.keys_violating = 1;
  r.check.problems = {k};
  CHECK(exit_code_of(r) == kExitViolation);
  const std::string text = format_report(r);
  CHECK(contains(text, "verdict: VIOLATION (1 key(s) not linearizable)"));
  CHECK(contains(text, "  key r1: violation: these 2 operations cannot be linearized"));
  CHECK(contains(text, "#2 c0 GET r1 [20,30] ok -> nil"));
}

TEST_CASE("report: checker budget exceeded or no final reads is INCONCLUSIVE, exit 3") {
  RunReport r = clean_report();
  r.check.verdict = Verdict::kUnknown;
  CHECK(exit_code_of(r) == kExitInconclusive);
  CHECK(contains(format_report(r), "INCONCLUSIVE (checker budget exceeded)"));

  r = clean_report();
  r.final_reads_done = false;
  r.final_reads_note = "not done: cluster not ready";
  CHECK(exit_code_of(r) == kExitInconclusive);
  const std::string text = format_report(r);
  CHECK(contains(text, "lost writes: not checked"));
  CHECK(contains(text, "the cluster did not recover"));
}

TEST_CASE("report: membership faults list their changes and how long each took") {
  RunReport r = clean_report();
  r.faults = "membership";
  FaultEvent swap;
  swap.kind = FaultKind::kMembership;
  swap.start_ns = 5'000'000'000;
  swap.applied = true;
  MembershipChange add;
  add.node = 4;
  add.port = 40123;
  add.start_ns = 5'000'000'000;
  add.end_ns = 5'812'000'000;
  add.done = true;
  MembershipChange removal;
  removal.add = false;
  removal.node = 2;
  removal.was_leader = true;
  removal.start_ns = 5'900'000'000;
  removal.end_ns = 7'000'000'000;
  removal.done = true;
  removal.reloads = 1;
  swap.changes = {add, removal};
  FaultEvent stuck;
  stuck.kind = FaultKind::kMembership;
  stuck.start_ns = 10'000'000'000;
  MembershipChange failed;
  failed.node = 5;
  failed.start_ns = 10'000'000'000;
  failed.note = "not done within 30 s";
  stuck.changes = {failed};
  r.fault_events = {swap, stuck};

  const std::string text = format_report(r);
  CHECK(contains(text, "faults: 1 injected (membership 1), 1 skipped"));
  CHECK(contains(text,
                 "membership   +node4 (port 40123) voter after 812 ms; -node2 (leader) "
                 "removed and stopped after 1100 ms, 1 reload retries\n"));
  CHECK(contains(text, "membership changes: +node4 -node2\n"));
  CHECK(contains(text, "membership change failed: +node5 at 10.0s: not done within 30 s\n"));
  // A change that did not happen is reported, but the verdict is the checker's.
  CHECK(verdict_of(r) == RunVerdict::kLinearizable);
}

}  // namespace
}  // namespace kv::chaos
