// The end-of-run report of kv_chaos: what ran, operations by kind and outcome, faults,
// failovers, lost writes, the checker's verdict with the failing window, and the exit code
// that follows from it. Pure formatting over values the runner collected.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chaos/fault_injector.h"
#include "chaos/history_analysis.h"
#include "chaos/linearizability.h"

namespace kv::chaos {

// Exit codes of kv_chaos.
inline constexpr int kExitOk = 0;            // linearizable, no acknowledged write lost
inline constexpr int kExitViolation = 1;     // a linearizability violation or a lost write
inline constexpr int kExitSetupError = 2;    // bad flags, the cluster did not start, interrupted
inline constexpr int kExitInconclusive = 3;  // the checker ran out of budget on some key, or the
                                             // cluster did not come back for the final reads

struct RunReport {
  std::string mode;
  int nodes = 0;
  int clients = 0;
  double duration_s = 0;
  uint64_t seed = 0;
  std::string faults;  // format_fault_list

  KindCounts counts;
  std::vector<FaultEvent> fault_events;
  std::vector<Failover> failovers;  // one per applied kill-leader, in order

  bool final_reads_done = false;  // every key was read after healing
  std::string final_reads_note;   // "7 keys read from node2 (leader, term 9)" or why not
  std::vector<LostWrite> lost_writes;

  HistorySummary check;
  double check_seconds = 0;

  std::string history_path;  // where the history was written ("" if nowhere)
  std::string kept_dir;      // the run's temp dir when kept ("" when removed)
};

enum class RunVerdict { kLinearizable, kViolation, kInconclusive };
RunVerdict verdict_of(const RunReport& report);
int exit_code_of(const RunReport& report);

// The summary as printed at the end of a run, ending in '\n'.
std::string format_report(const RunReport& report);

}  // namespace kv::chaos
