// Linearizability checking of chaos-run histories against the per-key register model.
// Keys are independent objects (Herlihy & Wing's locality), so a history is partitioned by key
// and each key is searched on its own (linearization_search.h). On a violation the checker
// shrinks the key's history to a small window that still cannot be linearized.
// Pure functions over values; safe to call from several threads on different histories.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chaos/history.h"

namespace kv::chaos {

struct CheckOptions {
  // Per key: the search (plus window minimisation) stops after this many steps or this much
  // wall time and reports kUnknown rather than hang on a pathological history.
  uint64_t max_steps_per_key = 20'000'000;
  std::chrono::milliseconds max_time_per_key{10'000};
  bool minimize_window = true;
};

enum class Verdict { kLinearizable, kViolation, kUnknown };
std::string_view to_string(Verdict verdict);

struct WindowOp {
  Operation op;  // as recorded.
  // true: recorded ok, but the window only needs it as "may or may not have applied" (unknown).
  bool relaxed = false;
};

struct KeyResult {
  std::string key;
  Verdict verdict = Verdict::kLinearizable;
  bool linearizable() const { return verdict == Verdict::kLinearizable; }

  // kViolation only: operations, by invoke time, that cannot be linearized even on their own.
  // It is a certificate for the whole key history: it is a prefix of it (by event time) from
  // which ops were only weakened (reads dropped, INCRs made unknown, SETs nobody observed
  // dropped), and weakening can only make a history easier to linearize. It is 1-minimal: no
  // single further weakening keeps it failing (unless the budget ran out while shrinking).
  std::vector<WindowOp> window;
  bool window_minimal = false;

  std::string detail;  // kUnknown: why ("search budget exceeded ...", invalid op).
  uint64_t steps = 0;  // search steps spent, including minimisation.

  // Multi-line report: verdict line, then one line per window op.
  std::string ToString() const;
  // The window as a history (relaxed ops written as unknown), e.g. to feed back to the CLI.
  std::vector<Operation> window_history() const;
};

// Checks one key's history from an initially missing key.
// REQUIRES: every op has the same key. Fail ops are ignored (never applied); unknown ops may
// take effect at any point after invoke, or never. An invalid op (see validate_operation)
// yields kUnknown with the reason in detail.
KeyResult check_key(const std::vector<Operation>& ops, const CheckOptions& options = {});

struct HistorySummary {
  OutcomeCounts outcomes;
  size_t keys_checked = 0;
  size_t keys_violating = 0;
  size_t keys_unknown = 0;
  uint64_t steps = 0;
  Verdict verdict = Verdict::kLinearizable;
  std::vector<KeyResult> problems;  // every key whose verdict is not kLinearizable, by key.

  // "ops: 10000 (ok 9500, fail 200, unknown 300); keys: 100 checked, 0 violating, 0 unknown;
  //  verdict: linearizable", followed by each problem's report.
  std::string ToString() const;
};

// Partitions `history` by key and checks each key independently.
HistorySummary check_history(const History& history, const CheckOptions& options = {});

}  // namespace kv::chaos
