#include "chaos/linearizability.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <unordered_set>

#include "chaos/linearization_search.h"
#include "chaos/register_model.h"

namespace kv::chaos {

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::kLinearizable:
      return "linearizable";
    case Verdict::kViolation:
      return "violation";
    case Verdict::kUnknown:
      return "unknown";
  }
  return "?";
}

namespace {

// The part an operation plays in a candidate sub-history of one key.
enum class Role : uint8_t {
  kAbsent,    // not in the sub-history.
  kUnknown,   // may take effect at any point after invoke, or never; any result.
  kDefinite,  // takes effect once within [invoke, complete] with its recorded result.
};

struct Built {
  std::vector<SearchOp> search;
  std::vector<size_t> source;  // source[i]: index in the key's ops of search[i].
};

// What the definite reads of a sub-history can see, to tell which SETs nobody observes.
class Observations {
 public:
  Observations(const std::vector<Operation>& ops, const std::vector<Role>& roles) {
    for (size_t i = 0; i < ops.size(); ++i) {
      const Operation& op = ops[i];
      if (roles[i] == Role::kUnknown && op.kind == OpKind::kIncr) ++unknown_incrs_;
      if (roles[i] != Role::kDefinite || !op.result) continue;
      int64_t n = 0;
      const bool is_int = parse_canonical_int(*op.result, &n);
      if (op.kind == OpKind::kGet) {
        strings_.insert(*op.result);
        if (is_int) ints_.push_back(n);
      } else if (op.kind == OpKind::kIncr && is_int && n > INT64_MIN) {
        ints_.push_back(n - 1);  // the INCR saw n - 1.
      }
    }
    std::sort(ints_.begin(), ints_.end());
  }

  // True when no definite op can have seen the value `set` wrote. Then, in any linearization,
  // the stretch from that SET to the next holds no definite GET or INCR (a string value is
  // never read and fails INCR; an integer v could only be seen as v + j after j <= U unknown
  // INCRs, and nothing saw any of those), so removing the SET and that stretch's unknown
  // INCRs leaves a linearization: removing such a SET is a weakening. For an unknown SET it
  // is an equivalence, since "never applied" was allowed anyway.
  bool unobserved(const Operation& set) const {
    if (strings_.contains(set.value)) return false;
    int64_t v = 0;
    if (!parse_canonical_int(set.value, &v)) return true;
    const int64_t hi = v > INT64_MAX - unknown_incrs_ ? INT64_MAX : v + unknown_incrs_;
    auto it = std::lower_bound(ints_.begin(), ints_.end(), v);
    return it == ints_.end() || *it > hi;
  }

 private:
  std::unordered_set<std::string> strings_;
  std::vector<int64_t> ints_;  // integer states some definite op saw, sorted.
  int64_t unknown_incrs_ = 0;
};

// Turns a sub-history into search input, leaving out unknown SETs nobody observed (see
// Observations::unobserved): that changes no verdict and spares the search from branching on
// the many timed-out writes a fault produces.
Built build(const std::vector<Operation>& ops, const std::vector<Role>& roles) {
  const Observations observations(ops, roles);
  KeyValues values;
  Built built;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Operation& op = ops[i];
    if (roles[i] == Role::kAbsent) continue;
    SearchOp s;
    s.invoke_ns = op.invoke_ns;
    s.complete_ns = op.complete_ns;
    s.definite = roles[i] == Role::kDefinite;
    s.model.kind = op.kind;
    s.model.output_known = s.definite && op.kind != OpKind::kSet;
    if (op.kind == OpKind::kSet) {
      if (!s.definite && observations.unobserved(op)) continue;
      s.model.input = values.state_for(op.value);
    }
    if (s.model.output_known) s.model.output = values.state_for_result(op.result);
    built.search.push_back(s);
    built.source.push_back(i);
  }
  return built;
}

SearchResult run(const std::vector<Operation>& ops, const std::vector<Role>& roles,
                 StepBudget* budget) {
  return search_linearization(build(ops, roles).search, budget);
}

// Events of the sub-history in the order the search sees them; a prefix of this list is a
// prefix of the history.
struct PrefixEvent {
  int64_t time;
  bool is_return;
  size_t op;
};

std::vector<PrefixEvent> events_of(const std::vector<Operation>& ops,
                                   const std::vector<Role>& roles) {
  std::vector<PrefixEvent> events;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (roles[i] == Role::kAbsent) continue;
    events.push_back({ops[i].invoke_ns, false, i});
    if (roles[i] == Role::kDefinite) events.push_back({ops[i].complete_ns, true, i});
  }
  std::stable_sort(events.begin(), events.end(), [](const PrefixEvent& a, const PrefixEvent& b) {
    if (a.time != b.time) return a.time < b.time;
    return !a.is_return && b.is_return;
  });
  return events;
}

// Roles of the history cut after its first `length` events: ops not yet invoked are absent,
// ops returned are as before, pending ones become unknown writes (pending reads tell nothing).
std::vector<Role> prefix_roles(const std::vector<Operation>& ops,
                               const std::vector<PrefixEvent>& events, size_t length) {
  std::vector<Role> prefix(ops.size(), Role::kAbsent);
  for (size_t e = 0; e < length; ++e) {
    const size_t i = events[e].op;
    if (events[e].is_return) {
      prefix[i] = Role::kDefinite;
    } else if (ops[i].kind != OpKind::kGet) {
      prefix[i] = Role::kUnknown;  // a pending read stays absent: it is decided when it returns.
    }
  }
  return prefix;
}

// Shrinks a violating sub-history: first to its shortest violating prefix (linearizability is
// prefix-closed, so binary search applies), then weakens ops one at a time, earliest first,
// keeping each weakening that still fails. A weakened history can be much
// harder to search (unknown writes branch), so each trial gets a slice of the budget sized by
// the search that found the violation; a trial running out of its slice is not kept.
// Returns true when the result is 1-minimal: no single further weakening still fails.
bool minimize(const std::vector<Operation>& ops, uint64_t violation_steps, std::vector<Role>* roles,
              StepBudget* budget) {
  const uint64_t trial_steps = 20 * violation_steps + 20'000;
  bool complete = true;
  auto trial_run = [&](const std::vector<Role>& trial) {
    StepBudget slice = budget->slice(trial_steps);
    const SearchResult r = run(ops, trial, &slice);
    budget->absorb(slice);
    if (r == SearchResult::kBudgetExceeded) complete = false;
    return r;
  };

  const std::vector<PrefixEvent> events = events_of(ops, *roles);
  size_t linearizable_length = 0;  // the empty prefix is trivially linearizable.
  size_t violating_length = events.size();
  while (violating_length - linearizable_length > 1 && !budget->exhausted()) {
    const size_t mid = linearizable_length + (violating_length - linearizable_length) / 2;
    const SearchResult r = trial_run(prefix_roles(ops, events, mid));
    if (r == SearchResult::kBudgetExceeded) break;
    (r == SearchResult::kViolation ? violating_length : linearizable_length) = mid;
  }
  *roles = prefix_roles(ops, events, violating_length);

  // Pass 0 drops reads, pass 1 removes SETs nobody observes, pass 2 makes INCRs unknown.
  for (int pass = 0; pass < 3; ++pass) {
    for (size_t i = 0; i < ops.size() && !budget->exhausted(); ++i) {
      const OpKind kind = ops[i].kind;
      std::vector<Role> trial = *roles;
      if (pass == 0 && kind == OpKind::kGet && trial[i] == Role::kDefinite) {
        trial[i] = Role::kAbsent;
      } else if (pass == 1 && kind == OpKind::kSet && trial[i] != Role::kAbsent &&
                 Observations(ops, trial).unobserved(ops[i])) {
        trial[i] = Role::kAbsent;
      } else if (pass == 2 && kind == OpKind::kIncr && trial[i] == Role::kDefinite) {
        trial[i] = Role::kUnknown;
      } else {
        continue;
      }
      if (trial_run(trial) == SearchResult::kViolation) *roles = std::move(trial);
    }
  }
  return complete && !budget->exhausted();
}

}  // namespace

KeyResult check_key(const std::vector<Operation>& unsorted, const CheckOptions& options) {
  KeyResult result;
  if (unsorted.empty()) return result;
  result.key = unsorted.front().key;
  for (const Operation& op : unsorted) {
    Status s = validate_operation(op);
    if (s.ok() && op.key != result.key) s = Status::InvalidArgument("ops of several keys");
    if (!s.ok()) {
      result.verdict = Verdict::kUnknown;
      result.detail = "invalid input: " + s.ToString();
      return result;
    }
  }
  std::vector<Operation> ops = unsorted;
  std::stable_sort(ops.begin(), ops.end(), [](const Operation& a, const Operation& b) {
    return a.invoke_ns != b.invoke_ns ? a.invoke_ns < b.invoke_ns : a.id < b.id;
  });
  std::vector<Role> roles(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    switch (ops[i].outcome) {
      case Outcome::kOk:
        roles[i] = Role::kDefinite;
        break;
      case Outcome::kFail:
        roles[i] = Role::kAbsent;
        break;
      case Outcome::kUnknown:
        roles[i] = ops[i].kind == OpKind::kGet ? Role::kAbsent : Role::kUnknown;
        break;
    }
  }

  StepBudget budget(options.max_steps_per_key, options.max_time_per_key);
  const SearchResult r = run(ops, roles, &budget);
  result.steps = budget.steps();
  if (r == SearchResult::kLinearizable) return result;
  if (r == SearchResult::kBudgetExceeded) {
    result.verdict = Verdict::kUnknown;
    result.detail = fmt::format("unknown (search budget exceeded after {} steps)", budget.steps());
    return result;
  }
  result.verdict = Verdict::kViolation;
  if (options.minimize_window) {
    // A budget running out here leaves roles at the last violating sub-history found.
    std::vector<Role> shrunk = roles;
    result.window_minimal = minimize(ops, budget.steps(), &shrunk, &budget);
    roles = std::move(shrunk);
    result.steps = budget.steps();
  }
  for (const size_t i : build(ops, roles).source) {
    result.window.push_back({ops[i], roles[i] == Role::kUnknown && ops[i].outcome == Outcome::kOk});
  }
  return result;
}

std::vector<Operation> KeyResult::window_history() const {
  std::vector<Operation> out;
  for (const WindowOp& w : window) {
    Operation op = w.op;
    if (w.relaxed) {
      op.outcome = Outcome::kUnknown;
      op.result.reset();
    }
    out.push_back(std::move(op));
  }
  return out;
}

std::string KeyResult::ToString() const {
  std::string s = fmt::format("key {}: {}", key, to_string(verdict));
  if (verdict == Verdict::kUnknown) return s + ": " + detail + "\n";
  if (verdict == Verdict::kLinearizable) return s + fmt::format(" ({} steps)\n", steps);
  s += fmt::format(": these {} operations cannot be linearized ({}; {} search steps)\n",
                   window.size(), window_minimal ? "1-minimal window" : "window not minimised",
                   steps);
  for (const WindowOp& w : window) {
    s += "  " + describe(w.op);
    if (w.relaxed) s += "  (relaxed: only needed as may-or-may-not-have-applied)";
    s += "\n";
  }
  return s;
}

HistorySummary check_history(const History& history, const CheckOptions& options) {
  HistorySummary summary;
  summary.outcomes = count_outcomes(history);
  std::map<std::string, std::vector<Operation>> by_key;
  for (const Operation& op : history) by_key[op.key].push_back(op);
  for (const auto& [key, ops] : by_key) {
    KeyResult r = check_key(ops, options);
    ++summary.keys_checked;
    summary.steps += r.steps;
    if (r.verdict == Verdict::kLinearizable) continue;
    ++(r.verdict == Verdict::kViolation ? summary.keys_violating : summary.keys_unknown);
    summary.problems.push_back(std::move(r));
  }
  if (summary.keys_violating > 0) {
    summary.verdict = Verdict::kViolation;
  } else if (summary.keys_unknown > 0) {
    summary.verdict = Verdict::kUnknown;
  }
  return summary;
}

std::string HistorySummary::ToString() const {
  std::string s = fmt::format(
      "ops: {} (ok {}, fail {}, unknown {}); keys: {} checked, {} violating, {} unknown; "
      "{} search steps; verdict: {}\n",
      outcomes.ok + outcomes.fail + outcomes.unknown, outcomes.ok, outcomes.fail, outcomes.unknown,
      keys_checked, keys_violating, keys_unknown, steps, to_string(verdict));
  for (const KeyResult& r : problems) s += r.ToString();
  return s;
}

}  // namespace kv::chaos
