// The core linearizability search for one key: Wing & Gong's backtracking with Lowe's
// just-in-time linearization and a cache of visited (linearized set, model state) pairs, as
// Porcupine does. Internal to kv_chaos; linearizability.h is the public face. Single-threaded.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "chaos/register_model.h"

namespace kv::chaos {

// One operation of a single-key history, ready for the search.
struct SearchOp {
  ModelOp model;
  int64_t invoke_ns = 0;
  int64_t complete_ns = 0;  // ignored unless definite.
  // true: took effect exactly once in [invoke, complete] (ok outcome). false: unknown outcome,
  // may take effect at any point after invoke or never; has no return event.
  bool definite = true;
};

// Steps and wall time a check may spend; shared by every search of one check so that window
// minimisation cannot run longer than the check itself was allowed to.
class StepBudget {
 public:
  StepBudget(uint64_t max_steps, std::chrono::steady_clock::time_point deadline)
      : max_steps_(max_steps), deadline_(deadline) {}
  StepBudget(uint64_t max_steps, std::chrono::steady_clock::duration max_time);
  // Charges one step. Returns false once the step or time limit is exhausted (and from then on).
  bool spend();
  bool exhausted() const { return exhausted_; }
  uint64_t steps() const { return steps_; }

  // A budget for one sub-search: at most `max_steps`, and never more steps or time than this
  // budget has left. Charge its use back with absorb().
  StepBudget slice(uint64_t max_steps) const;
  void absorb(const StepBudget& slice);

 private:
  uint64_t max_steps_;
  uint64_t steps_ = 0;
  std::chrono::steady_clock::time_point deadline_;
  bool exhausted_ = false;
};

enum class SearchResult { kLinearizable, kViolation, kBudgetExceeded };

// Decides whether `ops` (all on one key, starting from nil) can be linearized.
// REQUIRES: complete_ns >= invoke_ns for definite ops.
SearchResult search_linearization(const std::vector<SearchOp>& ops, StepBudget* budget);

}  // namespace kv::chaos
