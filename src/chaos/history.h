// The history of a chaos run: every client operation with its invoke and complete times and
// its outcome, as recorded by the driver. Plain value types, no shared state; the checker
// (linearizability.h) and the text format (history_format.h) both read them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kv::chaos {

enum class OpKind { kGet, kSet, kIncr };

// What the client learned about its operation.
enum class Outcome {
  kOk,       // applied exactly once, somewhere between invoke and complete; result is known.
  kFail,     // definitely not applied (the server refused it before doing anything).
  kUnknown,  // may or may not have applied (timeout, connection lost): the checker treats it as
             // completing at +infinity, so it may take effect at any point after invoke, or never.
};

struct Operation {
  uint64_t id = 0;      // unique within a history; windows and reports name ops by it.
  uint32_t client = 0;  // the client (process) that issued it; informational.
  std::string key;
  OpKind kind = OpKind::kGet;
  std::string value;        // SET only: the value written; unique per history by construction.
  int64_t invoke_ns = 0;    // any monotonic clock shared by all clients.
  int64_t complete_ns = 0;  // REQUIRES: >= invoke_ns for ok ops. Ignored for unknown ops.
  Outcome outcome = Outcome::kOk;
  // Ok GET: the value read, nullopt for nil. Ok INCR: the new value in decimal.
  // Otherwise (SET, fail, unknown): nullopt.
  std::optional<std::string> result;
};

using History = std::vector<Operation>;

// InvalidArgument when an op cannot be part of a history: empty key, ok op completing before
// it was invoked, ok INCR without a result, result on a SET/fail/unknown op.
Status validate_operation(const Operation& op);

std::string_view to_string(OpKind kind);
std::string_view to_string(Outcome outcome);

// Short human form for reports: "#12 c3 SET k=v17 [100,250] ok".
std::string describe(const Operation& op);

// Counts by outcome, for summaries.
struct OutcomeCounts {
  uint64_t ok = 0;
  uint64_t fail = 0;
  uint64_t unknown = 0;
};
OutcomeCounts count_outcomes(const History& history);

}  // namespace kv::chaos
