// One chaos run from start to verdict: start a throwaway cluster (cluster_driver.h), run the
// client workers and the fault schedule side by side, heal, read every key, check the whole
// history per key and for lost writes, print the report and return the exit code. Everything
// started is stopped by pid on every path out, exceptions included.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "chaos/cluster_driver.h"
#include "chaos/faults.h"
#include "chaos/linearizability.h"
#include "chaos/workload.h"

namespace kv::chaos {

struct RunOptions {
  ClusterSpec cluster;
  WorkloadSpec workload;
  int clients = 8;
  std::chrono::milliseconds duration{60000};
  std::vector<FaultKind> faults = all_fault_kinds();
  std::chrono::milliseconds fault_interval{5000};
  uint64_t seed = 0;
  std::chrono::milliseconds op_timeout{1500};
  std::chrono::milliseconds setup_timeout{30000};  // cluster start, and recovery after healing
  CheckOptions check;
  std::string history_path;  // "" : not written (unless kept with the temp dir on a failure)
  bool keep = false;         // keep the temp dir (cluster.json, logs, data) in any case
  bool verbose = true;       // progress lines and fault events as they happen
};

// Runs it. *interrupted (set from a signal handler) stops the run early: cleanup, exit 2.
// Returns a kExit* code (chaos_report.h).
int run_chaos(const RunOptions& options, const std::atomic<bool>* interrupted);

}  // namespace kv::chaos
