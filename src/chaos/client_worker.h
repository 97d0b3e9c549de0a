// ClientWorker: one chaos client, run on its own thread. It connects to a random live node
// (the set changes when a membership fault adds or removes one), issues the workload's
// operations one at a time and records each with its invoke and complete times and its
// outcome (workload.h classify_reply). After any operation that is not ok it reconnects,
// possibly to another node: a late reply to a timed-out request must never be taken for the
// next one's. The history it records is read only after the thread is joined.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "chaos/history.h"
#include "chaos/node_set.h"
#include "chaos/workload.h"
#include "client/client.h"

namespace kv::chaos {

struct WorkerOptions {
  uint32_t client = 0;
  uint64_t seed = 0;
  std::chrono::milliseconds op_timeout{1500};  // a reply later than this: unknown / fail
  std::chrono::milliseconds connect_timeout{500};
  double switch_node_chance = 0.02;  // per ok operation: move to another random node
};

class ClientWorker {
 public:
  using Clock = std::chrono::steady_clock;

  // epoch: time zero of the history (shared by every client and the fault injector).
  // nodes: where to connect, read at each connect; must outlive the worker.
  ClientWorker(WorkerOptions options, const Workload& workload, const NodeSet* nodes,
               Clock::time_point epoch);

  // Runs until *stop is true or `until` passes (an operation in flight finishes first, within
  // op_timeout). Operations get id 0; the driver numbers the merged history.
  void run(const std::atomic<bool>* stop, Clock::time_point until);

  // REQUIRES: run() has returned.
  History& history() { return history_; }

 private:
  bool ensure_connected();
  int64_t now_ns() const;

  WorkerOptions options_;
  const Workload& workload_;
  const NodeSet* nodes_;
  Clock::time_point epoch_;
  std::mt19937_64 rng_;
  std::optional<client::Client> conn_;
  History history_;
};

}  // namespace kv::chaos
