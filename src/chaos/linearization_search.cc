#include "chaos/linearization_search.h"

#include <algorithm>
#include <random>
#include <unordered_set>

#include "common/check.h"

namespace kv::chaos {

StepBudget::StepBudget(uint64_t max_steps, std::chrono::steady_clock::duration max_time)
    : max_steps_(max_steps), deadline_(std::chrono::steady_clock::now() + max_time) {}

bool StepBudget::spend() {
  if (exhausted_) return false;
  ++steps_;
  // Reading the clock costs more than a step; every 1024 steps keeps overshoot to microseconds.
  if (steps_ > max_steps_ ||
      ((steps_ & 1023) == 0 && std::chrono::steady_clock::now() > deadline_)) {
    exhausted_ = true;
  }
  return !exhausted_;
}

StepBudget StepBudget::slice(uint64_t max_steps) const {
  const uint64_t left = steps_ >= max_steps_ ? 0 : max_steps_ - steps_;
  return StepBudget(max_steps < left ? max_steps : left, deadline_);
}

void StepBudget::absorb(const StepBudget& slice) {
  steps_ += slice.steps_;
  if (steps_ > max_steps_ || std::chrono::steady_clock::now() > deadline_) exhausted_ = true;
}

namespace {

// The history as a doubly linked list of call and return events in time order. Lifting an
// operation unlinks its call and return; unlifting relinks them (dancing-links style, so the
// undo is O(1) and exact as long as lifts are undone in reverse order, which the stack ensures).
class EventList {
 public:
  explicit EventList(const std::vector<SearchOp>& ops) {
    struct Event {
      int64_t time;
      bool is_return;
      uint32_t op;
    };
    std::vector<Event> events;
    for (uint32_t i = 0; i < ops.size(); ++i) {
      events.push_back({ops[i].invoke_ns, false, i});
      if (ops[i].definite) events.push_back({ops[i].complete_ns, true, i});
    }
    // At equal times calls sort before returns: the two ops are then concurrent, the lenient
    // reading of a clock too coarse to order them.
    std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
      if (a.time != b.time) return a.time < b.time;
      return !a.is_return && b.is_return;
    });
    const size_t n = events.size();
    head_ = n;
    tail_ = n + 1;
    next_.resize(n + 2);
    prev_.resize(n + 2);
    op_.resize(n);
    is_return_.resize(n);
    return_of_call_.assign(n, kNone);
    std::vector<size_t> call_position(ops.size(), kNone);
    for (size_t i = 0; i < n; ++i) {
      op_[i] = events[i].op;
      is_return_[i] = events[i].is_return;
      if (events[i].is_return) {
        return_of_call_[call_position[events[i].op]] = i;
      } else {
        call_position[events[i].op] = i;
      }
    }
    size_t last = head_;
    for (size_t i = 0; i < n; ++i) {
      next_[last] = i;
      prev_[i] = last;
      last = i;
    }
    next_[last] = tail_;
    prev_[tail_] = last;
  }

  size_t first() const { return next_[head_]; }
  size_t next(size_t e) const { return next_[e]; }
  bool at_end(size_t e) const { return e == tail_; }
  bool is_return(size_t e) const { return is_return_[e]; }
  uint32_t op(size_t e) const { return op_[e]; }

  void lift(size_t call) {
    unlink(call);
    if (return_of_call_[call] != kNone) unlink(return_of_call_[call]);
  }
  void unlift(size_t call) {
    if (return_of_call_[call] != kNone) relink(return_of_call_[call]);
    relink(call);
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);
  void unlink(size_t e) {
    next_[prev_[e]] = next_[e];
    prev_[next_[e]] = prev_[e];
  }
  void relink(size_t e) {
    next_[prev_[e]] = e;
    prev_[next_[e]] = e;
  }

  size_t head_ = 0;
  size_t tail_ = 0;
  std::vector<size_t> next_, prev_, return_of_call_;
  std::vector<uint32_t> op_;
  std::vector<bool> is_return_;
};

// The set of linearized ops, with a Zobrist hash kept up to date on every flip.
class OpSet {
 public:
  explicit OpSet(size_t n) : words_((n + 63) / 64, 0), salts_(n) {
    std::mt19937_64 rng(0x6b76636c75737472ULL);  // fixed: runs are reproducible.
    for (uint64_t& s : salts_) s = rng();
  }
  void flip(uint32_t i) {
    words_[i / 64] ^= uint64_t{1} << (i % 64);
    hash_ ^= salts_[i];
  }
  uint64_t hash() const { return hash_; }
  const std::vector<uint64_t>& words() const { return words_; }

 private:
  std::vector<uint64_t> words_;
  std::vector<uint64_t> salts_;
  uint64_t hash_ = 0;
};

struct CacheEntry {
  std::vector<uint64_t> linearized;
  RegisterState state;
  uint64_t hash;
  bool operator==(const CacheEntry& o) const {
    return hash == o.hash && state == o.state && linearized == o.linearized;
  }
};
struct CacheEntryHash {
  size_t operator()(const CacheEntry& e) const { return e.hash; }
};

struct Frame {
  size_t call;
  RegisterState state_before;
};

}  // namespace

SearchResult search_linearization(const std::vector<SearchOp>& ops, StepBudget* budget) {
  size_t definite_left = 0;
  for (const SearchOp& op : ops) {
    if (op.definite) {
      KV_CHECK(op.complete_ns >= op.invoke_ns);
      ++definite_left;
    }
  }
  // Unknown INCRs are interchangeable: any linearization using a later-invoked one while an
  // earlier one stays out can use the earlier one in its place (same effect, no deadline). So
  // the search only ever linearizes them in invoke order, which turns the 2^n subsets of n
  // timed-out INCRs into n+1 prefixes.
  constexpr size_t kNoRank = static_cast<size_t>(-1);
  std::vector<size_t> incr_rank(ops.size(), kNoRank);
  {
    std::vector<uint32_t> unknown_incrs;
    for (uint32_t i = 0; i < ops.size(); ++i) {
      if (!ops[i].definite && ops[i].model.kind == OpKind::kIncr) unknown_incrs.push_back(i);
    }
    std::stable_sort(unknown_incrs.begin(), unknown_incrs.end(),
                     [&](uint32_t a, uint32_t b) { return ops[a].invoke_ns < ops[b].invoke_ns; });
    for (size_t r = 0; r < unknown_incrs.size(); ++r) incr_rank[unknown_incrs[r]] = r;
  }
  size_t unknown_incrs_linearized = 0;
  EventList events(ops);
  OpSet linearized(ops.size());
  std::unordered_set<CacheEntry, CacheEntryHash> seen;
  std::vector<Frame> stack;
  RegisterState state;
  size_t entry = events.first();
  // Unknown ops never have to be linearized ("or never"), so the search succeeds as soon as
  // every definite op has a place; pending unknown ops are simply left out.
  while (definite_left > 0) {
    if (!budget->spend()) return SearchResult::kBudgetExceeded;
    if (events.at_end(entry) || events.is_return(entry)) {
      // Some op returned before being linearized: this branch is dead, undo the last choice.
      if (stack.empty()) return SearchResult::kViolation;
      Frame frame = stack.back();
      stack.pop_back();
      const uint32_t op = events.op(frame.call);
      state = frame.state_before;
      linearized.flip(op);
      if (ops[op].definite) ++definite_left;
      if (incr_rank[op] != kNoRank) --unknown_incrs_linearized;
      events.unlift(frame.call);
      entry = events.next(frame.call);
      continue;
    }
    const uint32_t op = events.op(entry);
    RegisterState next;
    const bool in_turn = incr_rank[op] == kNoRank || incr_rank[op] == unknown_incrs_linearized;
    if (in_turn && step(state, ops[op].model, &next)) {
      linearized.flip(op);
      CacheEntry key{linearized.words(), next, linearized.hash() ^ next.hash()};
      if (seen.insert(std::move(key)).second) {
        stack.push_back({entry, state});
        state = next;
        if (ops[op].definite) --definite_left;
        if (incr_rank[op] != kNoRank) ++unknown_incrs_linearized;
        events.lift(entry);
        entry = events.first();
        continue;
      }
      linearized.flip(op);  // this (set, state) was already explored and failed.
    }
    entry = events.next(entry);
  }
  return SearchResult::kLinearizable;
}

}  // namespace kv::chaos
