#include "cluster/supervisor.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "cluster/cluster_secret.h"
#include "cluster/membership_plan.h"
#include "cluster/preflight.h"
#include "cluster/process_spawner.h"
#include "cluster/status_view.h"
#include "common/check.h"

namespace kv::cluster {
namespace {

using std::chrono::milliseconds;

constexpr size_t kTailLines = 5;        // output lines kept for the `failed` report
constexpr milliseconds kFastProbe{25};  // while starting: readiness shows up quickly
constexpr int kFastProbes = 40;         // ... for the first second, then the normal interval

std::string ms_text(milliseconds d) {
  if (d.count() < 1000) return fmt::format("{} ms", d.count());
  return fmt::format("{:.1f} s", static_cast<double>(d.count()) / 1000);
}

int64_t seconds_since(Supervisor::Clock::time_point t, Supervisor::Clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::seconds>(now - t).count();
}

}  // namespace

Supervisor::Supervisor(net::EventLoop* loop, OutputMux* mux, ClusterConfig config,
                       std::string default_kvstore, std::string cluster_secret,
                       HostLocality locality)
    : loop_(loop),
      mux_(mux),
      config_(std::move(config)),
      default_kvstore_(std::move(default_kvstore)),
      cluster_secret_(std::move(cluster_secret)),
      locality_(std::move(locality)),
      remotes_(loop, mux),
      started_at_(Clock::now()) {
  changes_ = std::make_unique<ChangeRunner>(loop_, mux_, static_cast<NodeHost*>(this),
                                            cluster_secret_, ChangeRunner::Settings{});
  std::set<int> local = local_node_ids(config_, locality_);
  for (const auto& spec : config_.nodes) {
    if (local.count(spec.id) != 0) add_node(spec);
  }
}

Supervisor::~Supervisor() {
  changes_.reset();  // it calls back into us
  // Normally every node is stopped by now. If not (an error path), do not leave orphans.
  for (auto& [id, n] : nodes_) {
    if (n->pid > 0) {
      ::kill(-n->pid, SIGKILL);
      int status = 0;
      while (::waitpid(n->pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    cancel_timer(&n->probe_timer);
    cancel_timer(&n->backoff_timer);
    cancel_timer(&n->stop_timer);
  }
}

void Supervisor::add_node(const NodeSpec& spec) {
  mux_->add_name(spec.name);
  nodes_[spec.id] = std::make_unique<ManagedNode>(spec, config_.restart);
}

void Supervisor::start_all() {
  // Raft: a node whose data dir is empty while another of ours holds data was added to
  // cluster.json while no kvcluster ran. Started like the others it would take the file for
  // the group's membership and never join; it joins as a reload would add it instead.
  std::vector<int> joiners;
  if (config_.raft()) {
    std::vector<int> fresh;
    bool any_data = false;
    for (const auto& [id, n] : nodes_) {
      if (has_node_data(n->spec.data_dir)) {
        any_data = true;
      } else {
        fresh.push_back(id);
      }
    }
    if (any_data) joiners = std::move(fresh);
  }
  std::vector<NodeSpec> remote;
  for (const auto& spec : config_.nodes) {
    auto it = nodes_.find(spec.id);
    if (it == nodes_.end()) {
      remote.push_back(spec);
    } else if (std::find(joiners.begin(), joiners.end(), spec.id) == joiners.end()) {
      fire(*it->second, NodeEvent::kStart);
    }
  }
  remotes_.set(remote, config_.probe);
  for (int id : joiners) {
    mux_->event(fmt::format("{}: its data dir is empty and the others hold data: it joins the "
                            "group (add {})",
                            node_name(id), node_name(id)),
                node_name(id));
    nodes_.at(id)->change = "joining";
    changes_->enqueue({ClusterOp::Kind::kAdd, id, "new in cluster.json, empty data dir"});
  }
}

void Supervisor::fire(ManagedNode& n, NodeEvent event) {
  Transition t = transition(n.state, event);
  n.state = t.next;
  perform(n, t.action);
}

void Supervisor::cancel_timer(uint64_t* id) {
  if (*id != 0) loop_->cancel_timer(*id);
  *id = 0;
}

void Supervisor::perform(ManagedNode& n, NodeAction action) {
  const std::string& name = n.spec.name;
  switch (action) {
    case NodeAction::kNone:
      return;
    case NodeAction::kSpawn:
      cancel_timer(&n.backoff_timer);
      return spawn(n);
    case NodeAction::kScheduleRestart: {
      int id = n.spec.id;
      n.backoff_timer = loop_->run_after(n.next_delay, [this, id] {
        ManagedNode& node = *nodes_.at(id);
        node.backoff_timer = 0;
        node.restarts++;
        fire(node, NodeEvent::kBackoffElapsed);
      });
      return;
    }
    case NodeAction::kCancelRestart:
      return cancel_timer(&n.backoff_timer);
    case NodeAction::kReportFailed: {
      std::string tail;
      for (const auto& line : n.last_lines) tail += (tail.empty() ? "" : " / ") + line;
      n.failed_reason = fmt::format("{} exits without becoming healthy (last: {})",
                                    n.policy.failures(), describe_exit(*n.last_exit));
      mux_->event(fmt::format("{} failed after {} attempts, not restarting (kvcluster restart {} "
                              "re-arms it): {}",
                              name, n.policy.failures(), name, tail.empty() ? "(no output)" : tail),
                  name);
      return;
    }
    case NodeAction::kSendTerm: {
      if (n.pid > 0) ::kill(-n.pid, SIGTERM);
      int id = n.spec.id;
      n.stop_timer = loop_->run_after(config_.stop_timeout, [this, id] {
        ManagedNode& node = *nodes_.at(id);
        node.stop_timer = 0;
        mux_->event(fmt::format("{} still running {} after SIGTERM: sending SIGKILL",
                                node.spec.name, ms_text(config_.stop_timeout)),
                    node.spec.name);
        fire(node, NodeEvent::kKill);
      });
      return;
    }
    case NodeAction::kSendKill:
      cancel_timer(&n.stop_timer);
      if (n.pid > 0) ::kill(-n.pid, SIGKILL);
      return;
    case NodeAction::kReportReady:
      n.policy.on_ready(Clock::now());
      mux_->event(fmt::format("{} is {} on port {} ({} after start)", name,
                              n.ready_once ? "answering again" : "up", n.spec.port,
                              ms_text(std::chrono::duration_cast<milliseconds>(Clock::now() -
                                                                               n.started_at))),
                  name);
      n.probe_error.clear();
      n.ready_once = true;
      return;
    case NodeAction::kReportUnresponsive:
      mux_->event(fmt::format("{} (pid {}) is unresponsive: {} probes failed, last: {}", name,
                              n.pid, n.probe_failures, n.probe_error),
                  name);
      return;
  }
}

void Supervisor::spawn(ManagedNode& n) {
  if (n.next_spec) {
    n.spec = *n.next_spec;
    n.next_spec.reset();
  }
  EnvVars env;
  if (config_.raft()) env.emplace_back(kSecretEnvVar, cluster_secret_);
  std::vector<std::string> argv = config_.command(n.spec);
  if (config_.raft() && n.join) argv.push_back("--join");
  auto proc = spawn_process(argv, config_.dir, env);
  auto now = Clock::now();
  n.started_at = now;
  n.policy.on_start(now);
  n.info.clear();
  n.probe_failures = 0;
  n.probes_while_starting = 0;
  n.ready_once = false;
  n.probe_error.clear();
  n.failed_reason.clear();
  if (!proc.ok()) {
    // Like a crash at once: the policy decides between retrying and giving up.
    mux_->event(fmt::format("{} cannot start: {}", n.spec.name, proc.status().message()),
                n.spec.name);
    n.last_lines.push_back(proc.status().message());
    on_exit(n, W_EXITCODE(127, 0));
    return;
  }
  n.pid = proc->pid;
  ManagedNode* node = &n;
  n.out = std::make_unique<PipeReader>(loop_, proc->stdout_fd, [this, node](std::string_view line) {
    on_output(*node, StreamKind::kStdout, line);
  });
  n.err = std::make_unique<PipeReader>(loop_, proc->stderr_fd, [this, node](std::string_view line) {
    on_output(*node, StreamKind::kStderr, line);
  });
  mux_->event(fmt::format("{} started (pid {}): {}", n.spec.name, n.pid, fmt::join(argv, " ")),
              n.spec.name);
  schedule_probe(n, kFastProbe);
}

void Supervisor::on_output(ManagedNode& n, StreamKind kind, std::string_view line) {
  mux_->node_line(n.spec.name, kind, line);
  n.last_lines.emplace_back(line.substr(0, 300));
  if (n.last_lines.size() > kTailLines) n.last_lines.pop_front();
}

void Supervisor::reap_children() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) return;
    for (auto& [id, n] : nodes_) {
      if (n->pid == pid) {
        on_exit(*n, status);
        break;
      }
    }
  }
}

void Supervisor::on_exit(ManagedNode& n, int wait_status) {
  const std::string name = n.spec.name;
  const int id = n.spec.id;
  pid_t pid = n.pid;
  n.pid = -1;
  n.last_exit = wait_status;
  n.probe.reset();
  cancel_timer(&n.probe_timer);
  cancel_timer(&n.stop_timer);
  // The process is gone, so everything it wrote is in the pipes: print it before the exit.
  if (n.out) n.out->drain();
  if (n.err) n.err->drain();
  n.out.reset();
  n.err.reset();
  n.info.clear();

  std::string how = describe_exit(wait_status);
  if (n.state == NodeState::kStopping) {
    mux_->event(fmt::format("{} stopped (pid {}, {})", name, pid, how), name);
    fire(n, NodeEvent::kExited);
  } else {
    RestartPolicy::Decision d = n.policy.on_exit(Clock::now());
    if (d.give_up) {
      mux_->event(fmt::format("{} exited ({})", name, how), name);
      fire(n, NodeEvent::kCrashLoop);
    } else {
      n.next_delay = d.delay;
      mux_->event(fmt::format("{} exited ({}), restarting in {}", name, how, ms_text(d.delay)),
                  name);
      fire(n, NodeEvent::kCrashed);
    }
  }
  if (n.state == NodeState::kStopped) after_stopped(id);
}

// A node reached `stopped`: drop it (removed by reload), start it again (restart requested),
// or, when the whole cluster is stopping, see whether that was the last one.
void Supervisor::after_stopped(int id) {
  ManagedNode& n = *nodes_.at(id);
  if (n.removing) {
    nodes_.erase(id);
  } else if (n.start_after_stop && !stopping_all_) {
    n.start_after_stop = false;
    fire(n, NodeEvent::kStart);
  }
  check_all_stopped();
}

void Supervisor::check_all_stopped() {
  if (!stopping_all_ || !on_all_stopped_) return;
  for (auto& [id, n] : nodes_) {
    if (has_process(n->state)) return;
  }
  auto done = std::move(on_all_stopped_);
  on_all_stopped_ = nullptr;
  loop_->run_after(milliseconds(0), std::move(done));
}

void Supervisor::stop_all(std::function<void()> on_all_stopped) {
  if (stopping_all_) {
    mux_->event("stopping now: SIGKILL to every node");
    for (auto& [id, n] : nodes_) fire(*n, NodeEvent::kKill);
    return;
  }
  stopping_all_ = true;
  on_all_stopped_ = std::move(on_all_stopped);
  changes_->cancel_all("the cluster is stopping");
  int running = 0;
  for (auto& [id, n] : nodes_) running += has_process(n->state) ? 1 : 0;
  mux_->event(
      fmt::format("stopping {} node{} (SIGTERM, SIGKILL after {}; interrupt again to kill now)",
                  running, running == 1 ? "" : "s", ms_text(config_.stop_timeout)));
  std::vector<int> ids;
  for (auto& [id, n] : nodes_) ids.push_back(id);
  for (int id : ids) fire(*nodes_.at(id), NodeEvent::kStop);
  check_all_stopped();
}

void Supervisor::schedule_probe(ManagedNode& n, milliseconds delay) {
  cancel_timer(&n.probe_timer);
  ManagedNode* node = &n;
  n.probe_timer = loop_->run_after(delay, [this, node] {
    node->probe_timer = 0;
    start_probe(*node);
  });
}

void Supervisor::start_probe(ManagedNode& n) {
  if (!has_process(n.state) || n.state == NodeState::kStopping) return;
  ManagedNode* node = &n;
  n.probe = std::make_unique<HealthProbe>(
      loop_, ClusterConfig::probe_host(n.spec), n.spec.port, config_.probe.timeout,
      [this, node](ProbeResult r) { on_probe(*node, std::move(r)); });
}

void Supervisor::on_probe(ManagedNode& n, ProbeResult result) {
  n.probe.reset();  // allowed: the probe's callback may destroy it
  if (!has_process(n.state) || n.state == NodeState::kStopping) return;
  if (result.ok) {
    n.probe_failures = 0;
    n.info = std::move(result.info);
    fire(n, NodeEvent::kProbeOk);
  } else {
    n.probe_failures++;
    n.probe_error = result.error;
    if (n.probe_failures >= config_.probe.failures) fire(n, NodeEvent::kProbeFailed);
  }
  milliseconds next = config_.probe.interval;
  if (n.state == NodeState::kStarting && ++n.probes_while_starting < kFastProbes) next = kFastProbe;
  schedule_probe(n, next);
}

namespace {

// "2" or "node2" -> 2.
std::optional<int> parse_node_id(const std::string& which) {
  std::string digits = which.rfind("node", 0) == 0 ? which.substr(4) : which;
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos ||
      digits.size() > 9) {
    return std::nullopt;
  }
  return std::stoi(digits);
}

}  // namespace

Supervisor::ManagedNode* Supervisor::find_node(const std::string& which) {
  std::optional<int> id = parse_node_id(which);
  if (!id) return nullptr;
  auto it = nodes_.find(*id);
  return it == nodes_.end() || it->second->removing ? nullptr : it->second.get();
}

Result<std::string> Supervisor::restart_node(const std::string& which) {
  if (stopping_all_) return Status::Busy("the cluster is stopping");
  ManagedNode* n = find_node(which);
  if (n == nullptr) {
    std::optional<int> id = parse_node_id(which);
    if (id && is_remote(*id)) {
      const NodeSpec& spec = *config_.find(*id);
      return Status::InvalidArgument(
          fmt::format("{} runs on another machine ({}): restart it there", spec.name, spec.host));
    }
    std::string names;
    for (const auto& spec : config_.nodes) names += (names.empty() ? "" : ", ") + spec.name;
    return Status::NotFound(
        fmt::format("no node '{}' in {} (nodes: {})", which, config_.path, names));
  }
  n->policy.reset();
  mux_->event(fmt::format("{}: restart requested", n->spec.name), n->spec.name);
  if (has_process(n->state)) {
    n->start_after_stop = true;
    fire(*n, NodeEvent::kStop);
  } else {
    fire(*n, NodeEvent::kStart);
  }
  return fmt::format("restarting {}", n->spec.name);
}

Result<std::string> Supervisor::reload(const std::string& why, bool quiet_if_unchanged) {
  if (stopping_all_) return Status::Busy("the cluster is stopping");
  auto loaded = load_cluster_config(config_.path, default_kvstore_);
  if (!loaded.ok()) {
    mux_->event(fmt::format("{} ({}; keeping the running config)", loaded.status().message(), why));
    return loaded.status();
  }
  ClusterConfig next = std::move(loaded).value();
  std::set<int> local = local_node_ids(next, locality_);
  Status shared = check_secret_shared(next, local);
  if (!shared.ok()) {
    mux_->event(fmt::format("{} ({}; keeping the running config)", shared.message(), why));
    return shared;
  }
  // Nodes read the secret only at start: a new one (an edited "secret", or the state file's
  // when "secret" was removed) restarts every node, so that they all agree again.
  std::string secret = cluster_secret_;
  if (next.raft()) {
    auto resolved = cluster_secret(next);
    if (!resolved.ok()) {
      mux_->event(
          fmt::format("{} ({}; keeping the running config)", resolved.status().message(), why));
      return resolved.status();
    }
    secret = std::move(resolved).value();
  }
  bool secret_changed = config_.raft() && next.raft() && secret != cluster_secret_;
  // Raft mode with the same secret: membership changes one node at a time (the nodes learn
  // the membership from the log, so --peers changing on everyone's command line moves nobody).
  bool live = config_.raft() && next.raft() && !secret_changed;
  ConfigDiff diff =
      live ? diff_members(config_, next) : diff_configs(config_, next, secret_changed);
  if (secret_changed) mux_->event("the cluster secret changed: every node restarts to learn it");
  cluster_secret_ = std::move(secret);
  changes_->set_secret(cluster_secret_);
  bool settings_changed = next.restart != config_.restart || next.probe != config_.probe ||
                          next.stop_timeout != config_.stop_timeout;
  std::set<int> local_before = local_node_ids(config_, locality_);
  ClusterConfig before = std::move(config_);
  config_ = std::move(next);
  for (auto& [id, n] : nodes_) n->policy.set_settings(config_.restart);

  std::vector<std::string> queued;
  if (live) {
    queued = queue_membership_changes(before, local_before, local);
  } else {
    changes_->cancel_all("the mode or the cluster secret changed: every node restarts");
    apply_local_changes(diff, local);
  }
  std::vector<NodeSpec> remote;
  for (const auto& spec : config_.nodes) {
    if (local.count(spec.id) == 0) remote.push_back(spec);
  }
  remotes_.set(remote, config_.probe);
  std::string summary =
      diff.empty() ? (settings_changed ? "settings updated, no node changes" : "no changes")
                   : diff.summary();
  if (!queued.empty()) {
    std::string list;
    for (const auto& q : queued) list += (list.empty() ? "" : ", ") + q;
    summary += fmt::format("; membership changes, one at a time: {}", list);
  }
  if (!(diff.empty() && queued.empty() && !settings_changed && quiet_if_unchanged)) {
    mux_->event(fmt::format("reloaded {} ({}): {}", config_.path, why, summary));
    for (const auto& warning : locality_warnings(config_, local)) mux_->event(warning);
  }
  return "reloaded: " + summary;
}

void Supervisor::apply_local_changes(const ConfigDiff& diff, const std::set<int>& local) {
  // No longer ours: removed from the file, or moved to another machine.
  std::vector<int> leaving;
  for (auto& [id, n] : nodes_) {
    if (!n->removing && local.count(id) == 0) leaving.push_back(id);
  }
  for (int id : leaving) {
    ManagedNode& n = *nodes_.at(id);
    n.removing = true;
    n.start_after_stop = false;
    fire(n, NodeEvent::kStop);
    if (n.state == NodeState::kStopped) after_stopped(id);
  }
  for (int id : diff.changed) {
    auto it = nodes_.find(id);
    if (it == nodes_.end() || it->second->removing || local.count(id) == 0) continue;
    ManagedNode& n = *it->second;
    n.policy.reset();
    if (has_process(n.state)) {
      n.next_spec = *config_.find(id);
      n.start_after_stop = true;
      fire(n, NodeEvent::kStop);
    } else {
      n.spec = *config_.find(id);
      fire(n, NodeEvent::kStart);
    }
  }
  for (const auto& spec : config_.nodes) {
    if (local.count(spec.id) == 0) continue;
    auto it = nodes_.find(spec.id);
    if (it == nodes_.end()) {
      start_new_node(spec);  // added to the file, or moved here from another machine
      continue;
    }
    ManagedNode& n = *it->second;
    if (n.removing) {
      // Removed by an earlier reload and still stopping: start it again once it has stopped.
      n.removing = false;
      n.next_spec = spec;
      n.start_after_stop = true;
      continue;
    }
    // Unchanged nodes keep their process; only their spec object is refreshed (same command).
    if (!n.next_spec) n.spec = spec;
  }
}

std::vector<std::string> Supervisor::queue_membership_changes(const ClusterConfig& before,
                                                              const std::set<int>& local_before,
                                                              const std::set<int>& local) {
  using Kind = ClusterOp::Kind;
  std::vector<ClusterOp> ops = plan_reload(before, config_, local_before, local);
  std::set<int> touched;
  for (const auto& op : ops) touched.insert(op.id);
  // Retries: a member a failed removal left running, a learner a failed addition left behind.
  for (const auto& [id, n] : nodes_) {
    if ((config_.find(id) == nullptr || local.count(id) == 0) && touched.count(id) == 0) {
      ops.push_back({Kind::kRemove, id, "not removed yet"});
      touched.insert(id);
    }
  }
  for (const auto& spec : config_.nodes) {
    auto it = nodes_.find(spec.id);
    if (it != nodes_.end() && it->second->change == "joining" && touched.count(spec.id) == 0) {
      ops.push_back({Kind::kAdd, spec.id, "not promoted yet"});
      touched.insert(spec.id);
    }
  }
  std::vector<std::string> queued;
  for (ClusterOp op : ops) {
    auto it = nodes_.find(op.id);
    if (op.kind == Kind::kRestart && it != nodes_.end() && it->second->change == "joining") {
      // Not a voter yet (an earlier addition failed): the addition starts it as it is now.
      op = {Kind::kAdd, op.id, "not promoted yet; command line changed"};
    }
    if (changes_->pending(op.kind, op.id)) {
      // Its addition is under way: it goes on with the process as the file now says.
      if (op.kind == Kind::kAdd && it != nodes_.end() && it->second->join) start_joining(op.id);
      continue;
    }
    if (op.kind == Kind::kAdd && it == nodes_.end()) {
      add_node(*config_.find(op.id));  // shown as stopped and joining until its turn
      nodes_.at(op.id)->change = "joining";
    }
    if (op.kind == Kind::kRemove && it != nodes_.end() && config_.find(op.id) == nullptr) {
      it->second->removing = true;  // no longer a node of the file: not counted, not restartable
    }
    queued.push_back(fmt::format("{} {}",
                                 op.kind == Kind::kAdd      ? "add"
                                 : op.kind == Kind::kRemove ? "remove"
                                                            : "restart",
                                 node_name(op.id)));
    changes_->enqueue(op);
  }
  // Nodes no operation touches keep their process; their spec follows the file (same command
  // line but for --peers).
  for (const auto& spec : config_.nodes) {
    auto it = nodes_.find(spec.id);
    if (it != nodes_.end() && touched.count(spec.id) == 0 && !it->second->removing &&
        !it->second->next_spec) {
      it->second->spec = spec;
    }
  }
  return queued;
}

Status Supervisor::rolling_restart(ChangeRunner::Finished done) {
  if (stopping_all_) return Status::Busy("the cluster is stopping");
  if (!config_.raft()) {
    return Status::InvalidArgument(
        "a rolling restart needs \"mode\": \"raft\" (kvcluster restart NODE restarts one node)");
  }
  if (changes_->rolling_restart_pending()) {
    return Status::Busy("a rolling restart is already under way");
  }
  mux_->event("rolling restart requested");
  changes_->enqueue({ClusterOp::Kind::kRollingRestart, 0, "kvcluster restart"}, std::move(done));
  return Status::OK();
}

// ---- NodeHost: what the ChangeRunner does to the nodes ----

std::optional<NodeAddress> Supervisor::address_of(int id) const {
  auto it = nodes_.find(id);
  if (it != nodes_.end() && kv::cluster::has_process(it->second->state)) {
    return NodeAddress{ClusterConfig::probe_host(it->second->spec), it->second->spec.port};
  }
  if (auto addr = file_address(id)) return addr;
  if (it != nodes_.end()) {
    return NodeAddress{ClusterConfig::probe_host(it->second->spec), it->second->spec.port};
  }
  return std::nullopt;
}

std::optional<NodeAddress> Supervisor::file_address(int id) const {
  const NodeSpec* spec = config_.find(id);
  if (spec == nullptr) return std::nullopt;
  return NodeAddress{ClusterConfig::probe_host(*spec), spec->port};
}

std::vector<int> Supervisor::known_ids() const {
  std::vector<int> ids;
  for (const auto& spec : config_.nodes) ids.push_back(spec.id);
  for (const auto& [id, n] : nodes_) {
    if (config_.find(id) == nullptr) ids.push_back(id);
  }
  return ids;
}

std::vector<int> Supervisor::local_ids() const {
  std::vector<int> ids;
  for (const auto& spec : config_.nodes) {
    auto it = nodes_.find(spec.id);
    if (it != nodes_.end() && !it->second->removing) ids.push_back(spec.id);
  }
  return ids;
}

pid_t Supervisor::answering_pid(int id) const {
  auto it = nodes_.find(id);
  if (it == nodes_.end() || it->second->state != NodeState::kRunning) return -1;
  return it->second->pid;
}

bool Supervisor::runs_process(int id) const {
  auto it = nodes_.find(id);
  return it != nodes_.end() && kv::cluster::has_process(it->second->state);
}

void Supervisor::start_joining(int id) {
  const NodeSpec* spec = config_.find(id);
  if (spec == nullptr || stopping_all_) return;
  if (nodes_.count(id) == 0) add_node(*spec);
  ManagedNode& n = *nodes_.at(id);
  bool had_join = n.join;
  n.join = true;
  n.removing = false;
  if (kv::cluster::has_process(n.state)) {
    if (had_join && n.spec == *spec && !n.next_spec && n.state != NodeState::kStopping) return;
    // Runs otherwise (without --join, another spec, or stopping): start over as the file says.
    n.policy.reset();
    n.next_spec = *spec;
    n.start_after_stop = true;
    fire(n, NodeEvent::kStop);
    return;
  }
  n.policy.reset();
  n.spec = *spec;
  if (Status s = check_node(*spec); !s.ok()) {
    n.state = NodeState::kFailed;
    n.failed_reason = s.message();
    mux_->event(fmt::format("{} not started: {}", spec->name, s.message()), spec->name);
    return;
  }
  fire(n, NodeEvent::kStart);
}

void Supervisor::stop_removed(int id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return;
  ManagedNode& n = *it->second;
  n.removing = true;
  n.start_after_stop = false;
  n.next_spec.reset();
  fire(n, NodeEvent::kStop);
  if (n.state == NodeState::kStopped) after_stopped(id);  // may erase n
}

void Supervisor::restart_member(int id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end() || stopping_all_) return;
  ManagedNode& n = *it->second;
  n.policy.reset();
  const NodeSpec* spec = config_.find(id);
  if (spec != nullptr && *spec != n.spec) n.next_spec = *spec;
  if (kv::cluster::has_process(n.state)) {
    n.start_after_stop = true;
    fire(n, NodeEvent::kStop);
  } else {
    fire(n, NodeEvent::kStart);
  }
}

void Supervisor::set_change(int id, const std::string& what) {
  if (auto it = nodes_.find(id); it != nodes_.end()) it->second->change = what;
}

void Supervisor::start_new_node(const NodeSpec& spec) {
  add_node(spec);
  ManagedNode& n = *nodes_.at(spec.id);
  if (Status s = check_node(spec); !s.ok()) {
    n.state = NodeState::kFailed;
    n.failed_reason = s.message();
    mux_->event(fmt::format("{} not started: {}", spec.name, s.message()), spec.name);
    return;
  }
  fire(n, NodeEvent::kStart);
}

nlohmann::json Supervisor::node_json(const ManagedNode& n, Clock::time_point now) const {
  nlohmann::json j = node_spec_json(n.spec);
  j["pid"] = n.pid > 0 ? nlohmann::json(n.pid) : nlohmann::json(nullptr);
  j["state"] = std::string(state_name(n.state));
  j["uptime_s"] =
      n.pid > 0 ? nlohmann::json(seconds_since(n.started_at, now)) : nlohmann::json(nullptr);
  j["restarts"] = n.restarts;
  j["failures"] = n.policy.failures();
  j["last_exit"] =
      n.last_exit ? nlohmann::json(describe_exit(*n.last_exit)) : nlohmann::json(nullptr);
  if (n.last_exit && WIFEXITED(*n.last_exit)) j["last_exit_code"] = WEXITSTATUS(*n.last_exit);
  if (n.last_exit && WIFSIGNALED(*n.last_exit))
    j["last_exit_signal"] = signal_name(WTERMSIG(*n.last_exit));
  if (!n.failed_reason.empty()) j["reason"] = n.failed_reason;
  if (!n.probe_error.empty()) j["probe_error"] = n.probe_error;
  if (n.state == NodeState::kBackoff) j["restart_in_ms"] = n.next_delay.count();
  j["answering"] = n.state == NodeState::kRunning;
  if (n.removing) j["removing"] = true;
  if (!n.change.empty()) j["change"] = n.change;
  if (n.join) j["joined"] = true;
  j["info"] = shown_info(n.info);
  return j;
}

nlohmann::json Supervisor::status_json() const {
  auto now = Clock::now();
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& spec : config_.nodes) {
    auto it = nodes_.find(spec.id);
    if (remotes_.contains(spec.id)) {
      nodes.push_back(remotes_.node_json(spec.id));
    } else if (it != nodes_.end() && !it->second->removing) {
      nodes.push_back(node_json(*it->second, now));
    }
  }
  // Nodes a reload removed (or moved to another machine) that are still stopping are shown
  // too, after the configured ones.
  for (const auto& [id, n] : nodes_) {
    if (n->removing || config_.find(id) == nullptr) nodes.push_back(node_json(*n, now));
  }
  return {{"mode", config_.mode},
          {"nodes", nodes},
          {"supervisor",
           {{"pid", ::getpid()},
            {"config", config_.path},
            {"dir", config_.dir},
            {"this_machine", locality_.describe()},
            {"uptime_s", seconds_since(started_at_, now)},
            {"stopping", stopping_all_},
            {"changes", changes_->describe()}}}};
}

}  // namespace kv::cluster
