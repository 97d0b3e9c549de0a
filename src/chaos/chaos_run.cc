#include "chaos/chaos_run.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "chaos/chaos_report.h"
#include "chaos/client_worker.h"
#include "chaos/fault_injector.h"
#include "chaos/history_analysis.h"
#include "chaos/history_format.h"
#include "client/client.h"

namespace kv::chaos {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Joins every thread on the way out, also when an exception unwinds the run.
class ThreadGroup {
 public:
  explicit ThreadGroup(std::function<void()> request_stop)
      : request_stop_(std::move(request_stop)) {}
  ~ThreadGroup() { stop_and_join(); }
  ThreadGroup(const ThreadGroup&) = delete;
  ThreadGroup& operator=(const ThreadGroup&) = delete;
  void add(std::function<void()> body) { threads_.emplace_back(std::move(body)); }
  void stop_and_join() {
    request_stop_();
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  std::function<void()> request_stop_;
  std::vector<std::thread> threads_;
};

// check_history, with the keys spread over a few threads (each key is independent).
HistorySummary check_in_parallel(const History& history, const CheckOptions& options) {
  std::map<std::string, std::vector<Operation>> by_key;
  for (const Operation& op : history) by_key[op.key].push_back(op);
  std::vector<const std::vector<Operation>*> work;
  for (const auto& [key, ops] : by_key) work.push_back(&ops);
  std::vector<KeyResult> results(work.size());
  std::atomic<size_t> next{0};
  const size_t n_threads =
      std::min<size_t>(work.size(), std::max(2u, std::thread::hardware_concurrency()));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < n_threads; ++t) {
    threads.emplace_back([&] {
      for (size_t i = next++; i < work.size(); i = next++)
        results[i] = check_key(*work[i], options);
    });
  }
  for (std::thread& t : threads) t.join();

  HistorySummary summary;
  summary.outcomes = count_outcomes(history);
  for (KeyResult& r : results) {
    ++summary.keys_checked;
    summary.steps += r.steps;
    if (r.verdict == Verdict::kLinearizable) continue;
    ++(r.verdict == Verdict::kViolation ? summary.keys_violating : summary.keys_unknown);
    summary.problems.push_back(std::move(r));
  }
  summary.verdict = summary.keys_violating > 0 ? Verdict::kViolation
                    : summary.keys_unknown > 0 ? Verdict::kUnknown
                                               : Verdict::kLinearizable;
  return summary;
}

struct FinalReads {
  bool done = false;
  std::string note;
  FinalValues values;
  History ops;  // every attempt, as history operations of the final reader
};

// After healing: one linearizable GET per key, through the current leader, each recorded
// in the history like any client's operation. Retries (new leader lookup) until deadline.
FinalReads read_final_values(const ClusterDriver& driver, const std::vector<std::string>& keys,
                             Clock::time_point epoch, uint32_t client, Clock::time_point deadline,
                             milliseconds op_timeout) {
  FinalReads out;
  auto now_ns = [&] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - epoch).count();
  };
  std::optional<client::Client> conn;
  std::set<int> leaders;
  NodeView last_leader;
  for (const std::string& key : keys) {
    bool read = false;
    while (!read && Clock::now() < deadline) {
      if (!conn) {
        auto leader = driver.wait_for_leader(deadline);
        if (!leader.ok()) break;
        last_leader = leader.value();
        const std::optional<NodeEndpoint> node = driver.endpoint(leader->id);
        if (!node) continue;
        auto c = client::Client::connect(node->host, node->port, op_timeout);
        if (!c.ok()) {
          std::this_thread::sleep_for(milliseconds(50));
          continue;
        }
        c->set_timeout(op_timeout);
        conn.emplace(std::move(c).value());
        leaders.insert(leader->id);
      }
      Operation op;
      op.client = client;
      op.key = key;
      op.kind = OpKind::kGet;
      op.invoke_ns = now_ns();
      auto reply = conn->call({"GET", key});
      op.complete_ns = now_ns();
      Classified c = classify_reply(OpKind::kGet, reply);
      op.outcome = c.outcome;
      op.result = c.result;
      out.ops.push_back(op);
      if (c.outcome == Outcome::kOk) {
        out.values[key] = c.result;
        read = true;
      } else {
        conn.reset();
        std::this_thread::sleep_for(milliseconds(50));
      }
    }
    if (!read) {
      out.note = fmt::format("could not read key {} within the deadline ({} of {} keys read)", key,
                             out.values.size(), keys.size());
      return out;
    }
  }
  out.done = true;
  std::string via;
  for (int id : leaders) via += fmt::format("{}node{}", via.empty() ? "" : ", ", id);
  out.note = fmt::format("{} keys read through the leader ({}; last seen term {})", keys.size(),
                         via, last_leader.term);
  return out;
}

class Run {
 public:
  Run(const RunOptions& options, const std::atomic<bool>* interrupted)
      : o_(options), interrupted_(interrupted), workload_(options.workload) {}

  int execute();

 private:
  void say(const std::string& line) const {
    if (!o_.verbose) return;
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }
  int setup_failed(const std::string& what);
  // Starts kvcluster and waits for every node and a leader.
  Status start_cluster();
  // Resumes paused nodes, waits for the cluster, reads every key through the leader.
  FinalReads heal_and_read();
  // Counts, failovers, lost writes and the linearizability check.
  RunReport analyse(const History& history, const std::vector<FaultEvent>& events,
                    const FinalReads& final_reads) const;
  void save(const History& history, RunReport* report) const;
  // Runs workers and faults for the duration. False when interrupted or kvcluster died.
  bool run_workload(History* history, std::vector<FaultEvent>* events);
  void finish_history(History* history) const;

  const RunOptions& o_;
  const std::atomic<bool>* interrupted_;
  Workload workload_;
  std::unique_ptr<ClusterDriver> driver_;
  Clock::time_point epoch_;
  std::string abort_reason_;
};

int Run::setup_failed(const std::string& what) {
  std::fprintf(stderr, "kv_chaos: %s\n", what.c_str());
  if (driver_) {
    const std::string tail = interrupted_->load() ? "" : driver_->output_tail(20);
    if (!tail.empty()) std::fprintf(stderr, "kvcluster output (last lines):\n%s", tail.c_str());
    driver_->shutdown(/*keep_dir=*/o_.keep);
    if (o_.keep) std::fprintf(stderr, "kv_chaos: kept %s\n", driver_->dir().c_str());
  }
  return kExitSetupError;
}

bool Run::run_workload(History* history, std::vector<FaultEvent>* events) {
  std::atomic<bool> stop{false};
  ScheduleSpec schedule;
  schedule.duration = o_.duration;
  schedule.interval = o_.fault_interval;
  FaultInjector injector(driver_.get(), plan_faults(o_.faults, schedule, o_.seed), epoch_,
                         o_.verbose, static_cast<size_t>(o_.cluster.nodes), interrupted_);
  std::vector<std::unique_ptr<ClientWorker>> workers;
  for (int i = 0; i < o_.clients; ++i) {
    WorkerOptions w;
    w.client = static_cast<uint32_t>(i);
    w.seed = o_.seed * 1000003 + static_cast<uint64_t>(i) + 1;
    w.op_timeout = o_.op_timeout;
    workers.push_back(
        std::make_unique<ClientWorker>(w, workload_, &driver_->live_nodes(), epoch_));
  }
  const Clock::time_point until = epoch_ + o_.duration;
  {
    ThreadGroup threads([&] {
      stop = true;
      injector.stop();
    });
    for (auto& w : workers) {
      ClientWorker* worker = w.get();
      threads.add([worker, &stop, until] { worker->run(&stop, until); });
    }
    threads.add([&injector] { injector.run(); });
    while (Clock::now() < until) {
      if (interrupted_->load()) {
        abort_reason_ = "interrupted";
        break;
      }
      std::string why;
      if (!driver_->kvcluster_running(&why)) {
        abort_reason_ = why;
        break;
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    threads.stop_and_join();
  }
  *events = injector.events();
  for (auto& w : workers) {
    History& h = w->history();
    history->insert(history->end(), std::make_move_iterator(h.begin()),
                    std::make_move_iterator(h.end()));
  }
  return abort_reason_.empty();
}

// Orders by invoke time and numbers the operations 1..n.
void Run::finish_history(History* history) const {
  std::stable_sort(history->begin(), history->end(), [](const Operation& a, const Operation& b) {
    return a.invoke_ns < b.invoke_ns;
  });
  uint64_t id = 0;
  for (Operation& op : *history) op.id = ++id;
}

Status Run::start_cluster() {
  const auto started = Clock::now();
  auto driver = ClusterDriver::start(o_.cluster);
  if (!driver.ok())
    return Status::IOError("cannot start the cluster: " + driver.status().ToString());
  driver_ = std::move(driver).value();
  std::string ports;
  for (const NodeEndpoint& n : driver_->nodes()) {
    ports += fmt::format("{}{}", ports.empty() ? "" : ",", n.port);
  }
  say(fmt::format("cluster: {} (ports {}), kvcluster pid {}", driver_->dir(), ports,
                  driver_->kvcluster_pid()));
  if (Status s = driver_->wait_ready(Clock::now() + o_.setup_timeout, interrupted_); !s.ok()) {
    return s;
  }
  auto leader = driver_->find_leader(milliseconds(500));
  say(fmt::format("cluster ready in {:.1f} s{}", since(started),
                  leader.ok() ? fmt::format(": leader node{} (term {})", leader->id, leader->term)
                              : std::string()));
  return Status::OK();
}

FinalReads Run::heal_and_read() {
  driver_->resume_all();
  const auto deadline = Clock::now() + o_.setup_timeout;
  if (Status s = driver_->wait_ready(deadline, interrupted_); !s.ok()) {
    FinalReads none;
    none.note = "not done: " + s.message();
    return none;
  }
  return read_final_values(*driver_, workload_.keys(), epoch_, static_cast<uint32_t>(o_.clients),
                           deadline, std::max(o_.op_timeout, milliseconds(2000)));
}

RunReport Run::analyse(const History& history, const std::vector<FaultEvent>& events,
                       const FinalReads& final_reads) const {
  RunReport report;
  report.mode = o_.cluster.mode + (o_.cluster.unsafe_local_reads ? " (unsafe local reads)" : "");
  report.nodes = o_.cluster.nodes;
  report.clients = o_.clients;
  report.duration_s = static_cast<double>(o_.duration.count()) / 1000.0;
  report.seed = o_.seed;
  report.faults = format_fault_list(o_.faults);
  report.counts = count_by_kind(history);
  report.fault_events = events;
  std::vector<int64_t> kills;
  for (const FaultEvent& e : events) {
    if (e.applied && e.kind == FaultKind::kKillLeader) kills.push_back(e.start_ns);
  }
  report.failovers = measure_failovers(history, kills);
  report.final_reads_done = final_reads.done;
  report.final_reads_note = final_reads.note;
  if (final_reads.done) report.lost_writes = find_lost_writes(history, final_reads.values);

  say(fmt::format("checking {} operations on {} keys", history.size(), workload_.keys().size()));
  const auto check_started = Clock::now();
  report.check = check_in_parallel(history, o_.check);
  report.check_seconds = since(check_started);
  return report;
}

// Writes the history (to --history, or into the kept dir when a failed run has no --history)
// and removes the temp dir unless it is kept.
void Run::save(const History& history, RunReport* report) const {
  const bool failed = verdict_of(*report) != RunVerdict::kLinearizable;
  const bool keep = o_.keep || (failed && o_.history_path.empty());
  std::string path = o_.history_path;
  if (path.empty() && keep) path = driver_->dir() + "/history.txt";
  if (!path.empty()) {
    if (Status s = write_history_file(path, history); !s.ok()) {
      std::fprintf(stderr, "kv_chaos: %s\n", s.ToString().c_str());
    } else {
      report->history_path = path;
    }
  }
  if (keep) {
    report->kept_dir = driver_->dir();
  } else {
    std::error_code ec;
    std::filesystem::remove_all(driver_->dir(), ec);
  }
}

int Run::execute() {
  say(fmt::format("kv_chaos: mode {}{}, {} nodes, {} clients, {} s, faults {}, seed {}",
                  o_.cluster.mode, o_.cluster.unsafe_local_reads ? " (--unsafe-local-reads)" : "",
                  o_.cluster.nodes, o_.clients, o_.duration.count() / 1000.0,
                  format_fault_list(o_.faults), o_.seed));
  if (Status s = start_cluster(); !s.ok()) return setup_failed(s.message());

  epoch_ = Clock::now();
  History history;
  std::vector<FaultEvent> events;
  if (!run_workload(&history, &events)) return setup_failed("run aborted: " + abort_reason_);
  say(fmt::format("workload done: {} operations; healing and waiting for the cluster",
                  history.size()));

  const FinalReads final_reads = heal_and_read();
  if (interrupted_->load()) return setup_failed("interrupted");
  history.insert(history.end(), final_reads.ops.begin(), final_reads.ops.end());
  finish_history(&history);
  driver_->shutdown(/*keep_dir=*/true);  // the check needs no cluster; save() removes the dir

  RunReport report = analyse(history, events, final_reads);
  save(history, &report);
  std::fputs(format_report(report).c_str(), stdout);
  std::fflush(stdout);
  return exit_code_of(report);
}

}  // namespace

int run_chaos(const RunOptions& options, const std::atomic<bool>* interrupted) {
  try {
    return Run(options, interrupted).execute();
  } catch (const std::exception& e) {
    // Run's destructor has stopped the cluster by now.
    std::fprintf(stderr, "kv_chaos: %s\n", e.what());
    return kExitSetupError;
  }
}

}  // namespace kv::chaos
