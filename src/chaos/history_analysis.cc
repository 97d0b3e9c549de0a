#include "chaos/history_analysis.h"

#include <fmt/core.h>

#include <algorithm>
#include <limits>

#include "chaos/register_model.h"

namespace kv::chaos {
namespace {

void add(OutcomeCounts* counts, Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      ++counts->ok;
      break;
    case Outcome::kFail:
      ++counts->fail;
      break;
    case Outcome::kUnknown:
      ++counts->unknown;
      break;
  }
}

std::string show(const std::optional<std::string>& value) {
  return value ? fmt::format("\"{}\"", *value) : std::string("nil");
}

bool is_write(OpKind kind) { return kind == OpKind::kSet || kind == OpKind::kIncr; }

// The register check of find_lost_writes for one key. ops: the key's SETs.
void check_register(const std::string& key, const std::vector<const Operation*>& sets,
                    const std::optional<std::string>& final_value, std::vector<LostWrite>* out) {
  const Operation* last_acked = nullptr;  // the acknowledged SET that completed last.
  for (const Operation* op : sets) {
    if (op->outcome != Outcome::kOk) continue;
    if (last_acked == nullptr || op->complete_ns > last_acked->complete_ns) last_acked = op;
  }
  if (!final_value) {
    if (last_acked != nullptr) {
      out->push_back(
          {key, fmt::format("key is nil, but {} was acknowledged", describe(*last_acked))});
    }
    return;
  }
  const Operation* writer = nullptr;
  for (const Operation* op : sets) {
    if (op->outcome != Outcome::kFail && op->value == *final_value) writer = op;
  }
  if (writer == nullptr) {
    out->push_back({key, fmt::format("holds {}, which no SET that may have applied wrote",
                                     show(final_value))});
    return;
  }
  if (writer->outcome != Outcome::kOk) return;  // unknown: may have applied last of all.
  // Every acknowledged SET invoked after the writer completed is ordered after it.
  const Operation* superseding = nullptr;
  for (const Operation* op : sets) {
    if (op->outcome != Outcome::kOk || op->invoke_ns <= writer->complete_ns) continue;
    if (superseding == nullptr || op->complete_ns > superseding->complete_ns) superseding = op;
  }
  if (superseding != nullptr) {
    out->push_back(
        {key, fmt::format("holds {} from {}, but the later {} was acknowledged", show(final_value),
                          describe(*writer), describe(*superseding))});
  }
}

void check_counter(const std::string& key, const std::vector<const Operation*>& incrs,
                   const std::optional<std::string>& final_value, std::vector<LostWrite>* out) {
  int64_t acked = 0, maybe = 0, max_returned = 0;
  for (const Operation* op : incrs) {
    if (op->outcome == Outcome::kFail) continue;
    ++maybe;
    if (op->outcome != Outcome::kOk) continue;
    ++acked;
    int64_t n = 0;
    if (op->result && parse_canonical_int(*op->result, &n))
      max_returned = std::max(max_returned, n);
  }
  int64_t value = 0;
  if (final_value && !parse_canonical_int(*final_value, &value)) {
    out->push_back({key, fmt::format("counter holds {}, not an integer", show(final_value))});
    return;
  }
  if (value < acked) {
    out->push_back(
        {key, fmt::format("counter holds {}, but {} INCRs were acknowledged", value, acked)});
  } else if (value < max_returned) {
    out->push_back({key, fmt::format("counter holds {}, but an acknowledged INCR returned {}",
                                     value, max_returned)});
  } else if (value > maybe) {
    out->push_back({key, fmt::format("counter holds {}, but at most {} INCRs may have applied",
                                     value, maybe)});
  }
}

}  // namespace

const OutcomeCounts& KindCounts::of(OpKind kind) const {
  switch (kind) {
    case OpKind::kGet:
      return get;
    case OpKind::kSet:
      return set;
    case OpKind::kIncr:
      return incr;
  }
  return get;
}

KindCounts count_by_kind(const History& history) {
  KindCounts counts;
  for (const Operation& op : history) {
    switch (op.kind) {
      case OpKind::kGet:
        add(&counts.get, op.outcome);
        break;
      case OpKind::kSet:
        add(&counts.set, op.outcome);
        break;
      case OpKind::kIncr:
        add(&counts.incr, op.outcome);
        break;
    }
  }
  return counts;
}

std::vector<LostWrite> find_lost_writes(const History& history, const FinalValues& final_values) {
  std::map<std::string, std::vector<const Operation*>> sets, incrs;
  for (const Operation& op : history) {
    if (op.kind == OpKind::kSet) sets[op.key].push_back(&op);
    if (op.kind == OpKind::kIncr) incrs[op.key].push_back(&op);
  }
  std::vector<LostWrite> lost;
  for (const auto& [key, value] : final_values) {
    if (auto it = sets.find(key); it != sets.end()) {
      check_register(key, it->second, value, &lost);
    } else if (auto c = incrs.find(key); c != incrs.end()) {
      check_counter(key, c->second, value, &lost);
    } else if (value) {
      lost.push_back({key, fmt::format("holds {}, but nothing was written", show(value))});
    }
  }
  return lost;
}

std::vector<Failover> measure_failovers(const History& history,
                                        const std::vector<int64_t>& fault_times_ns) {
  std::vector<Failover> failovers;
  for (int64_t t : fault_times_ns) {
    Failover f;
    f.fault_ns = t;
    for (const Operation& op : history) {
      if (!is_write(op.kind) || op.outcome != Outcome::kOk || op.invoke_ns < t) continue;
      if (!f.recovered_ns || op.complete_ns < *f.recovered_ns) f.recovered_ns = op.complete_ns;
    }
    failovers.push_back(f);
  }
  return failovers;
}

DurationStats summarize_failovers(const std::vector<Failover>& failovers) {
  std::vector<int64_t> durations;
  for (const Failover& f : failovers) {
    if (auto d = f.duration_ns()) durations.push_back(*d);
  }
  DurationStats stats;
  if (durations.empty()) return stats;
  std::sort(durations.begin(), durations.end());
  stats.count = durations.size();
  const size_t mid = durations.size() / 2;
  stats.median_ns =
      durations.size() % 2 == 1 ? durations[mid] : (durations[mid - 1] + durations[mid]) / 2;
  stats.max_ns = durations.back();
  return stats;
}

}  // namespace kv::chaos
