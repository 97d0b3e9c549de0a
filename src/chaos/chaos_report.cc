#include "chaos/chaos_report.h"

#include <fmt/core.h>

#include <algorithm>
#include <map>

namespace kv::chaos {
namespace {

// Violation windows printed in full; the other violating keys are only named.
constexpr size_t kWindowsShown = 3;

// Every line of text, indented by two spaces.
std::string indent(const std::string& text) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    const size_t end = nl == std::string::npos ? text.size() : nl;
    out += "  " + text.substr(pos, end - pos) + "\n";
    pos = end + 1;
  }
  return out;
}

std::string ms(int64_t ns) { return fmt::format("{} ms", (ns + 500'000) / 1'000'000); }

std::string seconds(int64_t ns) { return fmt::format("{:.1f}s", static_cast<double>(ns) / 1e9); }

std::string counts_row(const char* name, const OutcomeCounts& c) {
  return fmt::format("  {:<6} {:>9} {:>9} {:>9} {:>9}\n", name, c.ok + c.fail + c.unknown, c.ok,
                     c.fail, c.unknown);
}

std::string format_ops(const KindCounts& counts) {
  OutcomeCounts total;
  for (const OutcomeCounts* c : {&counts.get, &counts.set, &counts.incr}) {
    total.ok += c->ok;
    total.fail += c->fail;
    total.unknown += c->unknown;
  }
  std::string s =
      fmt::format("  {:<6} {:>9} {:>9} {:>9} {:>9}\n", "op", "total", "ok", "fail", "unknown");
  s += counts_row("GET", counts.get);
  s += counts_row("SET", counts.set);
  s += counts_row("INCR", counts.incr);
  s += counts_row("all", total);
  return s;
}

std::string describe_change(const MembershipChange& c) {
  std::string s = change_label(c);
  if (c.add && c.port != 0) s += fmt::format(" (port {})", c.port);
  if (!c.add && c.was_leader) s += " (leader)";
  if (c.done) {
    s += fmt::format(" {} after {}", c.add ? "voter" : "removed and stopped",
                     ms(c.end_ns - c.start_ns));
  } else {
    s += " FAILED: " + c.note;
  }
  if (c.reloads > 0) s += fmt::format(", {} reload retries", c.reloads);
  return s;
}

// "membership changes: +node4 -node2 +node5 -node1" and one line per change that failed.
std::string format_membership(const std::vector<FaultEvent>& events) {
  std::string done, failed;
  for (const FaultEvent& e : events) {
    for (const MembershipChange& c : e.changes) {
      if (c.done) {
        done += (done.empty() ? "" : " ") + change_label(c);
      } else {
        failed += fmt::format("membership change failed: {} at {}: {}\n", change_label(c),
                              seconds(c.start_ns), c.note);
      }
    }
  }
  if (done.empty() && failed.empty()) return "";
  return fmt::format("membership changes: {}\n", done.empty() ? "none done" : done) + failed;
}

std::string format_faults(const std::vector<FaultEvent>& events) {
  std::map<std::string, int> applied;
  int skipped = 0;
  for (const FaultEvent& e : events) {
    if (e.applied) {
      ++applied[std::string(to_string(e.kind))];
    } else {
      ++skipped;
    }
  }
  std::string by_kind;
  for (const auto& [kind, n] : applied) {
    by_kind += fmt::format("{}{} {}", by_kind.empty() ? "" : ", ", kind, n);
  }
  int total = 0;
  for (const auto& [kind, n] : applied) total += n;
  std::string s = fmt::format("faults: {} injected", total);
  if (!by_kind.empty()) s += " (" + by_kind + ")";
  if (skipped > 0) s += fmt::format(", {} skipped", skipped);
  s += "\n";
  for (const FaultEvent& e : events) {
    if (e.kind == FaultKind::kMembership) {
      std::string changes;
      for (const MembershipChange& c : e.changes) {
        changes += (changes.empty() ? "" : "; ") + describe_change(c);
      }
      s += fmt::format("  [{:>6}] {:<12} {}\n", seconds(e.start_ns), to_string(e.kind), changes);
    } else if (e.applied) {
      s += fmt::format("  [{:>6}] {:<12} node{} pid {} ({})", seconds(e.start_ns),
                       to_string(e.kind), e.node, e.pid, e.note);
      if (is_pause(e.kind)) s += fmt::format(", resumed after {}", ms(e.end_ns - e.start_ns));
      s += "\n";
    } else {
      s += fmt::format("  [{:>6}] {:<12} {}\n", seconds(e.start_ns), to_string(e.kind), e.note);
    }
  }
  return s + format_membership(events);
}

std::string format_failovers(const std::vector<Failover>& failovers) {
  if (failovers.empty()) return "failovers: none measured (no leader was killed)\n";
  const DurationStats stats = summarize_failovers(failovers);
  std::string s =
      fmt::format("failovers (leader SIGKILL -> first acknowledged write): {}", failovers.size());
  if (stats.count > 0) {
    s += fmt::format(", median {}, max {}", ms(stats.median_ns), ms(stats.max_ns));
  }
  s += "\n";
  for (const Failover& f : failovers) {
    if (auto d = f.duration_ns()) {
      s += fmt::format("  [{:>6}] {}\n", seconds(f.fault_ns), ms(*d));
    } else {
      s += fmt::format("  [{:>6}] no write was acknowledged afterwards\n", seconds(f.fault_ns));
    }
  }
  return s;
}

}  // namespace

RunVerdict verdict_of(const RunReport& report) {
  if (report.check.verdict == Verdict::kViolation || !report.lost_writes.empty()) {
    return RunVerdict::kViolation;
  }
  if (report.check.verdict == Verdict::kUnknown || !report.final_reads_done) {
    return RunVerdict::kInconclusive;
  }
  return RunVerdict::kLinearizable;
}

int exit_code_of(const RunReport& report) {
  switch (verdict_of(report)) {
    case RunVerdict::kLinearizable:
      return kExitOk;
    case RunVerdict::kViolation:
      return kExitViolation;
    case RunVerdict::kInconclusive:
      return kExitInconclusive;
  }
  return kExitInconclusive;
}

std::string format_report(const RunReport& r) {
  std::string s = "\n== kv_chaos summary\n";
  s += fmt::format("run: mode {}, {} nodes, {} clients, {:.0f} s, faults {}, seed {}\n", r.mode,
                   r.nodes, r.clients, r.duration_s, r.faults, r.seed);
  s += "operations:\n" + format_ops(r.counts);
  s += format_faults(r.fault_events);
  s += format_failovers(r.failovers);
  s += "final reads: " + r.final_reads_note + "\n";
  if (r.lost_writes.empty()) {
    s += r.final_reads_done ? "lost writes: none\n" : "lost writes: not checked\n";
  } else {
    s += fmt::format("lost writes: {}\n", r.lost_writes.size());
    for (const LostWrite& l : r.lost_writes) s += fmt::format("  key {}: {}\n", l.key, l.what);
  }
  const HistorySummary& c = r.check;
  s +=
      fmt::format("checker: {} keys checked, {} violating, {} unknown; {} search steps, {:.1f} s\n",
                  c.keys_checked, c.keys_violating, c.keys_unknown, c.steps, r.check_seconds);
  // Smallest windows first: they are the easiest to read. A few in full; the rest by name.
  std::vector<const KeyResult*> problems;
  for (const KeyResult& k : c.problems) problems.push_back(&k);
  std::stable_sort(problems.begin(), problems.end(), [](const KeyResult* a, const KeyResult* b) {
    return a->window.size() < b->window.size();
  });
  std::string not_shown;
  size_t shown = 0;
  for (const KeyResult* k : problems) {
    if (k->verdict == Verdict::kViolation && shown == kWindowsShown) {
      not_shown +=
          fmt::format("{}{} ({} ops)", not_shown.empty() ? "" : ", ", k->key, k->window.size());
      continue;
    }
    if (k->verdict == Verdict::kViolation) ++shown;
    s += indent(k->ToString());
  }
  if (!not_shown.empty()) {
    s += fmt::format("  windows not shown: {}{}\n", not_shown,
                     r.history_path.empty() ? "" : " (kv_linearizability HISTORY prints them)");
  }
  if (!r.history_path.empty()) {
    s += fmt::format("history: {} (re-check: kv_linearizability {})\n", r.history_path,
                     r.history_path);
  }
  if (!r.kept_dir.empty())
    s += fmt::format("kept: {} (cluster.json, kvcluster.log, node data)\n", r.kept_dir);
  switch (verdict_of(r)) {
    case RunVerdict::kLinearizable:
      s += "verdict: LINEARIZABLE\n";
      break;
    case RunVerdict::kViolation: {
      std::string why;
      if (c.verdict == Verdict::kViolation) {
        why = fmt::format("{} key(s) not linearizable", c.keys_violating);
      }
      if (!r.lost_writes.empty()) {
        why += fmt::format("{}{} lost write(s)", why.empty() ? "" : ", ", r.lost_writes.size());
      }
      s += "verdict: VIOLATION (" + why + ")\n";
      break;
    }
    case RunVerdict::kInconclusive:
      s += r.final_reads_done ? "verdict: INCONCLUSIVE (checker budget exceeded)\n"
                              : "verdict: INCONCLUSIVE (no final reads: the cluster did not "
                                "recover after healing)\n";
      break;
  }
  return s;
}

}  // namespace kv::chaos
