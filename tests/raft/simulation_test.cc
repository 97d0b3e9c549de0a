// Randomized simulation over many seeds (simulation.h). A failing seed is shrunk (fault
// kinds switched off while it still fails), then replayed with a trace that is printed.
// Reproduce one: KV_RAFT_SEED=<seed> KV_RAFT_NODES=<n> tests/raft_test -tc='*simulation*'
// (add KV_RAFT_MEMBERSHIP=1 for a seed of the membership-change runs).

#include "raft/simulation.h"

#include <doctest/doctest.h>
#include <fmt/core.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace kv::raft::testing {
namespace {

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value ? std::strtoull(value, nullptr, 10) : fallback;
}

// Seeds per test case: the default, or KV_RAFT_SEEDS for long runs.
uint64_t seeds(uint64_t fallback) { return env_or("KV_RAFT_SEEDS", fallback); }

// Switches fault kinds off one at a time, keeping each change that still fails.
SimOptions shrink(uint64_t seed, SimOptions options, int failed_at_step) {
  if (failed_at_step < options.chaos_steps) options.chaos_steps = failed_at_step;
  std::vector<std::function<void(SimOptions&)>> simplifications = {
      [](SimOptions& o) { o.crash_rate = 0; },      [](SimOptions& o) { o.partition_rate = 0; },
      [](SimOptions& o) { o.drop_rate = 0; },       [](SimOptions& o) { o.duplicate_rate = 0; },
      [](SimOptions& o) { o.long_delay_rate = 0; }, [](SimOptions& o) { o.compact_rate = 0; },
      [](SimOptions& o) { o.read_rate = 0; },       [](SimOptions& o) { o.transfer_rate = 0; },
      [](SimOptions& o) { o.retire_rate = 0; },
  };
  for (auto& simplify : simplifications) {
    SimOptions candidate = options;
    simplify(candidate);
    SimResult result = Simulation(seed, candidate).run();
    if (!result.failure.empty()) {
      options = candidate;
      if (result.failed_at_step < options.chaos_steps) options.chaos_steps = result.failed_at_step;
    }
  }
  return options;
}

std::string report(uint64_t seed, const SimOptions& failing) {
  SimOptions options = shrink(seed, failing, Simulation(seed, failing).run().failed_at_step);
  options.trace = true;
  SimResult result = Simulation(seed, options).run();
  std::string out = fmt::format(
      "seed {} nodes {} failed at step {}: {}\n(shrunk: chaos_steps={} crash={} partition={} "
      "drop={} dup={} long_delay={} compact={} read={} membership={} transfer={} retire={})\n"
      "last events:\n",
      seed, options.nodes, result.failed_at_step, result.failure, options.chaos_steps,
      options.crash_rate, options.partition_rate, options.drop_rate, options.duplicate_rate,
      options.long_delay_rate, options.compact_rate, options.read_rate, options.membership_rate,
      options.transfer_rate, options.retire_rate);
  size_t from = result.trace.size() > 60 ? result.trace.size() - 60 : 0;
  for (size_t i = from; i < result.trace.size(); ++i) out += "  " + result.trace[i] + "\n";
  return out;
}

// Runs `count` seeds from `first`; fails the test case with a report for the first bad one.
// Returns the statistics summed over the seeds.
SimResult run_seeds(const SimOptions& options, uint64_t first, uint64_t count) {
  auto start = std::chrono::steady_clock::now();
  SimResult total;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    SimResult result = Simulation(seed, options).run();
    if (!result.failure.empty()) {
      FAIL(report(seed, options));
      return total;
    }
    total.committed += result.committed;
    total.leaders += result.leaders;
    total.reads += result.reads;
    total.crashes += result.crashes;
    total.snapshots_installed += result.snapshots_installed;
    total.messages += result.messages;
    total.config_changes += result.config_changes;
    total.leader_removals += result.leader_removals;
    total.transfers += result.transfers;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE(fmt::format(
      "{} nodes, {} seeds x {} chaos steps in {:.1f}s: {} commands applied, "
      "{} leaders, {} reads, {} crashes, {} snapshots installed, {} messages",
      options.nodes, count, options.chaos_steps, seconds, total.committed, total.leaders,
      total.reads, total.crashes, total.snapshots_installed, total.messages));
  if (options.membership_rate > 0 || options.transfer_rate > 0) {
    MESSAGE(
        fmt::format("  {} membership changes committed, {} of them removing a leader, "
                    "{} leadership transfers completed",
                    total.config_changes, total.leader_removals, total.transfers));
  }
  // Guard against a harness that silently stops doing anything.
  CHECK(total.committed > count);
  CHECK(total.crashes > 0);
  return total;
}

// The operator changes the membership and transfers leadership all through the faults.
SimOptions membership_options() {
  SimOptions options;
  options.nodes = 3;
  options.membership_rate = 0.03;
  options.transfer_rate = 0.004;
  return options;
}

TEST_CASE("simulation: one seed from the environment") {
  uint64_t seed = env_or("KV_RAFT_SEED", 0);
  if (seed == 0) return;
  SimOptions options = env_or("KV_RAFT_MEMBERSHIP", 0) ? membership_options() : SimOptions{};
  options.nodes = env_or("KV_RAFT_NODES", 3);
  options.trace = true;
  SimResult result = Simulation(seed, options).run();
  for (const std::string& line : result.trace) fmt::print("{}\n", line);
  CHECK_MESSAGE(result.failure.empty(), result.failure);
}

TEST_CASE("simulation: 3 nodes under faults keep every invariant and recover") {
  SimOptions options;
  options.nodes = 3;
  run_seeds(options, 1, seeds(200));
}

TEST_CASE("simulation: 5 nodes under faults keep every invariant and recover") {
  SimOptions options;
  options.nodes = 5;
  options.crash_rate = 0.004;
  run_seeds(options, 1001, seeds(100));
}

TEST_CASE("simulation: frequent partitions and crashes") {
  // Leaders cut off while clients still talk to them (stale reads, deposed leaders), and
  // crashes right after votes and appends.
  SimOptions options;
  options.partition_rate = 0.02;
  options.heal_rate = 0.02;
  options.crash_rate = 0.02;
  options.restart_rate = 0.05;
  options.read_rate = 0.2;
  run_seeds(options, 3001, seeds(100));
}

TEST_CASE("simulation: safety holds without PreVote and CheckQuorum") {
  SimOptions options;
  options.config.pre_vote = false;
  options.config.check_quorum = false;
  run_seeds(options, 5001, seeds(50));
}

}  // namespace
}  // namespace kv::raft::testing

namespace kv::raft::testing {
namespace {

TEST_CASE("simulation: membership changes and leader transfers under faults") {
  // Fewer seeds than the fixed-membership runs: each runs up to max_running nodes.
  SimResult total = run_seeds(membership_options(), 7001, seeds(40));
  uint64_t count = seeds(40);
  CHECK(total.config_changes > 4 * count);
  CHECK(total.leader_removals > 0);
  CHECK(total.transfers > count);
}

TEST_CASE("simulation: membership changes with frequent partitions and crashes") {
  SimOptions options = membership_options();
  options.partition_rate = 0.01;
  options.heal_rate = 0.02;
  options.crash_rate = 0.01;
  options.restart_rate = 0.05;
  SimResult total = run_seeds(options, 9001, seeds(20));
  CHECK(total.config_changes > seeds(20));
}

}  // namespace
}  // namespace kv::raft::testing

namespace kv::raft::testing {
namespace {

TEST_CASE("simulation: membership changes stay safe without PreVote and CheckQuorum") {
  // Removed nodes that missed their removal may now disrupt with real elections: they must
  // still never win one or break an invariant.
  SimOptions options = membership_options();
  options.config.pre_vote = false;
  options.config.check_quorum = false;
  run_seeds(options, 11001, seeds(15));
}

}  // namespace
}  // namespace kv::raft::testing
