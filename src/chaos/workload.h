// The chaos workload: which operation a client issues next, and what a server reply means
// for the history. Register keys take GET and SET (values unique per run), counter keys take
// GET and INCR, so every key stays a simple object for the checker and the lost-write check.
// Pure: the random generator is passed in; each client thread owns its own Workload copy.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "chaos/history.h"
#include "common/status.h"
#include "protocol/resp_reply.h"

namespace kv::chaos {

struct WorkloadSpec {
  int registers = 5;  // keys "r0".."r<n-1>": GET and SET
  int counters = 2;   // keys "n0".."n<n-1>": GET and INCR
  double read_fraction = 0.5;
};

struct PlannedOp {
  OpKind kind = OpKind::kGet;
  std::string key;
  std::string value;  // SET only: unique in the run ("w<client>-<seq>").
  std::vector<std::string> argv() const;
};

class Workload {
 public:
  // REQUIRES: spec.registers + spec.counters >= 1.
  explicit Workload(const WorkloadSpec& spec);
  // The next operation of `client`; seq numbers its operations (makes SET values unique).
  PlannedOp next(std::mt19937_64& rng, uint32_t client, uint64_t seq) const;
  // Every key the workload touches: registers first, then counters.
  const std::vector<std::string>& keys() const { return keys_; }

 private:
  WorkloadSpec spec_;
  std::vector<std::string> keys_;
};

// How one reply (or the failure to get one) enters the history.
struct Classified {
  Outcome outcome = Outcome::kOk;
  std::optional<std::string> result;  // ok GET: the value (nullopt: nil); ok INCR: decimal.
  std::string note;  // why it was not ok: "timed out ...", "CLUSTERDOWN no leader".
};

// The outcome rules: an ok reply -> ok; an error starting with CLUSTERDOWN -> fail (definitely
// not applied); any other error, a timeout or a broken connection -> unknown for a write
// (it may have applied) and fail for a read (a read changes nothing, so dropping it is safe).
// A reply of an unexpected type counts like an error.
Classified classify_reply(OpKind kind, const Result<protocol::Reply>& reply);

}  // namespace kv::chaos
