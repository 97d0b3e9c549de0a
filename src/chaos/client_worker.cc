#include "chaos/client_worker.h"

#include <thread>

namespace kv::chaos {

namespace {
// After a failed connect or an operation that was not ok: do not hammer a node that is down
// or a cluster that is electing.
constexpr std::chrono::milliseconds kRetryDelay{20};
}  // namespace

ClientWorker::ClientWorker(WorkerOptions options, const Workload& workload, const NodeSet* nodes,
                           Clock::time_point epoch)
    : options_(options), workload_(workload), nodes_(nodes), epoch_(epoch), rng_(options.seed) {}

int64_t ClientWorker::now_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - epoch_).count();
}

bool ClientWorker::ensure_connected() {
  if (conn_) return true;
  const std::optional<NodeEndpoint> node = nodes_->pick(rng_());
  if (!node) return false;
  auto c = client::Client::connect(node->host, node->port, options_.connect_timeout);
  if (!c.ok()) return false;
  c->set_timeout(options_.op_timeout);
  conn_.emplace(std::move(c).value());
  return true;
}

void ClientWorker::run(const std::atomic<bool>* stop, Clock::time_point until) {
  uint64_t seq = 0;
  while (!stop->load(std::memory_order_relaxed) && Clock::now() < until) {
    if (!ensure_connected()) {
      std::this_thread::sleep_for(kRetryDelay);
      continue;
    }
    const PlannedOp planned = workload_.next(rng_, options_.client, ++seq);
    Operation op;
    op.client = options_.client;
    op.key = planned.key;
    op.kind = planned.kind;
    op.value = planned.value;
    op.invoke_ns = now_ns();
    auto reply = conn_->call(planned.argv());
    op.complete_ns = now_ns();
    Classified c = classify_reply(planned.kind, reply);
    op.outcome = c.outcome;
    op.result = std::move(c.result);
    history_.push_back(std::move(op));
    if (c.outcome != Outcome::kOk) {
      conn_.reset();
      std::this_thread::sleep_for(kRetryDelay);
    } else if (std::uniform_real_distribution<double>(0, 1)(rng_) < options_.switch_node_chance) {
      conn_.reset();
    }
  }
}

}  // namespace kv::chaos
