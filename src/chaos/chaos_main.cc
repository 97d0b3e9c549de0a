// kv_chaos: the chaos test of kvcluster (our Jepsen). Starts a throwaway 3-node cluster under
// kvcluster, runs concurrent clients against random nodes while killing and pausing nodes and
// changing the membership, then checks the history for linearizability and lost writes. See
// chaos_run.h.
// Exit codes: 0 linearizable, 1 violation or lost write, 2 usage/setup error or interrupted,
// 3 inconclusive (checker budget exceeded, or no final reads because the cluster stayed down).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "chaos/chaos_report.h"
#include "chaos/chaos_run.h"

namespace {

std::atomic<bool> g_interrupted{false};

void on_signal(int) { g_interrupted = true; }

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

std::string binary_dir() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : self.parent_path().string();
}

bool executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

}  // namespace

int main(int argc, char** argv) {
  using std::chrono::milliseconds;
  kv::chaos::RunOptions o;
  CLI::App app{
      "kv_chaos: starts a throwaway kvcluster (3 nodes, free ports, temp dir), runs concurrent "
      "clients doing GET/SET/INCR against random nodes while killing and pausing nodes and (raft "
      "mode) replacing members through cluster.json, then heals, reads every key and checks the "
      "whole history for linearizability and lost writes.\nExit: 0 linearizable, 1 violation or "
      "lost write, 2 usage/setup error, 3 inconclusive."};
  double duration_s = 60, fault_interval_s = 5, setup_timeout_s = 30, check_s = 30;
  int64_t op_timeout_ms = 1500;
  std::string faults = "all";
  std::optional<uint64_t> seed;
  std::string dir = binary_dir();
  o.cluster.kvcluster = dir + "/kvcluster";
  o.cluster.kvstore = dir + "/kvstore";
  bool quiet = false;

  app.add_option("--duration", duration_s, "Seconds of workload")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--clients", o.clients, "Concurrent client threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--keys", o.workload.registers, "Register keys r0.. (GET/SET)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  app.add_option("--counters", o.workload.counters, "Counter keys n0.. (GET/INCR)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  app.add_option("--faults", faults,
                 "all, none, or a comma list of kill-leader, kill-random, pause-leader, "
                 "pause-random, membership (one at a time, healed before the next; membership: "
                 "a new node joins through a cluster.json edit, then another one, sometimes the "
                 "leader, is removed; raft mode only, left out of all otherwise)")
      ->capture_default_str();
  app.add_option("--fault-interval", fault_interval_s, "Seconds from one fault to the next")
      ->capture_default_str()
      ->check(CLI::Range(4.0, 3600.0));
  app.add_option("--seed", seed, "Seed for the workload and the fault schedule (default: random)");
  app.add_option("--mode", o.cluster.mode,
                 "raft (one replicated store) or independent (3 separate stores: must FAIL)")
      ->capture_default_str()
      ->check(CLI::IsMember({"raft", "independent"}));
  app.add_option("--nodes", o.cluster.nodes, "Nodes in the cluster")
      ->capture_default_str()
      ->check(CLI::Range(1, 9));
  app.add_option("--kvcluster", o.cluster.kvcluster, "kvcluster binary")->capture_default_str();
  app.add_option("--kvstore", o.cluster.kvstore, "kvstore binary")->capture_default_str();
  app.add_option("--history", o.history_path,
                 "Write the history here (history_format; re-check with kv_linearizability)");
  app.add_flag("--keep", o.keep,
               "Keep the temp dir (cluster.json, kvcluster.log, node data); kept anyway on a "
               "failure without --history");
  app.add_flag("--unsafe", o.cluster.unsafe_local_reads,
               "Start every kvstore with --unsafe-local-reads (deliberately broken reads: the "
               "run should report a violation)");
  app.add_option("--op-timeout-ms", op_timeout_ms, "Client timeout per operation")
      ->capture_default_str()
      ->check(CLI::Range(100, 60000));
  app.add_option("--setup-timeout", setup_timeout_s,
                 "Seconds to wait for the cluster to start, and to recover after healing")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--check-seconds", check_s, "Checker time budget per key")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("--quiet", quiet, "Only the summary, no progress or fault lines");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kv::chaos::kExitSetupError;
  }

  auto kinds = kv::chaos::parse_fault_list(faults, o.cluster.mode == "raft");
  if (!kinds.ok()) {
    std::fprintf(stderr, "kv_chaos: --faults: %s\n", kinds.status().message().c_str());
    return kv::chaos::kExitSetupError;
  }
  if (o.workload.registers + o.workload.counters < 1) {
    std::fprintf(stderr, "kv_chaos: --keys and --counters are both 0: nothing to test\n");
    return kv::chaos::kExitSetupError;
  }
  for (std::string* bin : {&o.cluster.kvcluster, &o.cluster.kvstore}) {
    if (!executable(*bin)) {
      std::fprintf(stderr,
                   "kv_chaos: %s is not an executable (build first, or pass --kvcluster/"
                   "--kvstore)\n",
                   bin->c_str());
      return kv::chaos::kExitSetupError;
    }
    *bin = std::filesystem::absolute(*bin).lexically_normal().string();
  }
  o.faults = std::move(kinds).value();
  o.duration = milliseconds(static_cast<int64_t>(duration_s * 1000));
  o.fault_interval = milliseconds(static_cast<int64_t>(fault_interval_s * 1000));
  o.setup_timeout = milliseconds(static_cast<int64_t>(setup_timeout_s * 1000));
  o.op_timeout = milliseconds(op_timeout_ms);
  o.check.max_time_per_key = milliseconds(static_cast<int64_t>(check_s * 1000));
  o.check.max_steps_per_key = UINT64_MAX;  // the time budget decides
  o.seed = seed ? *seed : std::random_device{}();
  o.verbose = !quiet;

  install_signal_handlers();
  return kv::chaos::run_chaos(o, &g_interrupted);
}
