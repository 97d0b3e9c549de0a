// What a chaos run reports besides linearizability: operation counts by kind, acknowledged
// writes missing from the final state (lost writes), and failover times after leader kills.
// Pure functions over a recorded History; no I/O, safe from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "chaos/history.h"

namespace kv::chaos {

// Counts by kind (GET, SET, INCR) and outcome.
struct KindCounts {
  OutcomeCounts get, set, incr;
  const OutcomeCounts& of(OpKind kind) const;
};
KindCounts count_by_kind(const History& history);

// A key's value after the run, as a final linearizable read returned it (nullopt: nil).
using FinalValues = std::map<std::string, std::optional<std::string>>;

struct LostWrite {
  std::string key;
  std::string what;  // one line: which acknowledged write is missing and what is there instead.
};

// Checks that every acknowledged write survived, for each key in final_values:
//  - a key with SETs: the final value must come from a SET (ok or unknown) that no
//    acknowledged SET follows in real time (invoked after it completed); nil is a lost write
//    when any SET was acknowledged; a value no SET wrote is reported too.
//  - a key with INCRs and no SETs (a counter): the final value must be at least the number of
//    acknowledged INCRs and at least the largest value an INCR returned, and at most the
//    number of INCRs that may have applied (ok + unknown).
// Values written by SETs must be unique per key (the workload guarantees it). Keys of the
// history missing from final_values are not checked.
std::vector<LostWrite> find_lost_writes(const History& history, const FinalValues& final_values);

// How long writes were unavailable after a fault: from the fault (e.g. a leader SIGKILL) to
// the completion of the first write invoked at or after it that was acknowledged.
struct Failover {
  int64_t fault_ns = 0;
  std::optional<int64_t> recovered_ns;  // nullopt: no write was acknowledged afterwards.
  std::optional<int64_t> duration_ns() const {
    if (!recovered_ns) return std::nullopt;
    return *recovered_ns - fault_ns;
  }
};
// One Failover per fault time, in the order given.
std::vector<Failover> measure_failovers(const History& history,
                                        const std::vector<int64_t>& fault_times_ns);

// Median and maximum of the measured durations (only failovers that recovered count).
struct DurationStats {
  size_t count = 0;
  int64_t median_ns = 0;
  int64_t max_ns = 0;
};
DurationStats summarize_failovers(const std::vector<Failover>& failovers);

}  // namespace kv::chaos
