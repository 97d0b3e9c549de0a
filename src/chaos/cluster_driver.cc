#include "chaos/cluster_driver.h"

#include <fmt/core.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "chaos/process_util.h"
#include "client/client.h"

namespace kv::chaos {
namespace {

namespace fs = std::filesystem;
using protocol::Reply;
using std::chrono::milliseconds;

constexpr milliseconds kStatusTimeout{5000};
constexpr milliseconds kPollInterval{50};

Result<std::string> make_temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/kv_chaos.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return Status::IOError(fmt::format("mkdtemp {}: {}", tmpl, std::strerror(errno)));
  }
  return tmpl;
}

// PING and INFO over a fresh connection. IOError on anything but +PONG and a bulk INFO.
Result<std::string> ping_and_info(const NodeEndpoint& node, milliseconds timeout) {
  auto c = client::Client::connect(node.host, node.port, timeout);
  if (!c.ok()) return c.status();
  c->set_timeout(timeout);
  (void)c->send({"PING"});
  (void)c->send({"INFO"});
  auto pong = c->read_reply();
  if (!pong.ok()) return pong.status();
  if (pong->type != Reply::Type::kSimpleString || pong->str != "PONG") {
    return Status::IOError("PING answered " + pong->to_display());
  }
  auto info = c->read_reply();
  if (!info.ok()) return info.status();
  if (info->type != Reply::Type::kBulkString) {
    return Status::IOError("INFO answered " + info->to_display());
  }
  return info->str;
}

int64_t to_int(const std::map<std::string, std::string>& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end()) return 0;
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

std::map<std::string, std::string> parse_info(const std::string& text) {
  std::map<std::string, std::string> fields;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    fields[line.substr(0, colon)] = line.substr(colon + 1);
  }
  return fields;
}

std::vector<int> parse_id_list(const std::string& text) {
  std::vector<int> ids;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      size_t used = 0;
      const int id = std::stoi(item, &used);
      if (used == item.size()) ids.push_back(id);
    } catch (const std::exception&) {
      // not a number: skipped
    }
  }
  return ids;
}

bool NodeView::is_voter(int node) const {
  return std::find(voters.begin(), voters.end(), node) != voters.end();
}

bool NodeView::is_member(int node) const {
  return is_voter(node) || std::find(learners.begin(), learners.end(), node) != learners.end();
}

Result<std::map<int, SupervisedNode>> parse_status(const std::string& json_text,
                                                   size_t* changes_in_progress) {
  nlohmann::json doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("nodes") ||
      !doc["nodes"].is_array()) {
    return Status::InvalidArgument("kvcluster status --json: not a status document");
  }
  std::map<int, SupervisedNode> nodes;
  for (const auto& n : doc["nodes"]) {
    if (!n.is_object() || !n.contains("id") || !n["id"].is_number_integer()) continue;
    SupervisedNode node;
    if (auto pid = n.find("pid"); pid != n.end() && pid->is_number_integer()) {
      node.pid = static_cast<pid_t>(std::max<int64_t>(0, pid->get<int64_t>()));
    }
    if (auto state = n.find("state"); state != n.end() && state->is_string()) {
      node.state = state->get<std::string>();
    }
    if (auto r = n.find("restarts"); r != n.end() && r->is_number_integer()) {
      node.restarts = r->get<int64_t>();
    }
    if (auto e = n.find("last_exit"); e != n.end() && e->is_string()) {
      node.last_exit = e->get<std::string>();
    }
    nodes[n["id"].get<int>()] = node;
  }
  if (changes_in_progress != nullptr) {
    *changes_in_progress = 0;
    if (auto sup = doc.find("supervisor"); sup != doc.end() && sup->is_object()) {
      if (auto c = sup->find("changes"); c != sup->end() && c->is_array()) {
        *changes_in_progress = c->size();
      }
    }
  }
  return nodes;
}

ClusterDriver::ClusterDriver(ClusterSpec spec, std::string dir,
                             const std::vector<NodeEndpoint>& nodes, nlohmann::json config)
    : spec_(std::move(spec)),
      dir_(std::move(dir)),
      config_path_(dir_ + "/cluster.json"),
      output_path_(dir_ + "/kvcluster.log"),
      live_(nodes),
      known_(nodes),
      config_(std::move(config)) {
  for (const NodeEndpoint& n : nodes) {
    next_id_ = std::max(next_id_, n.id + 1);
    used_ports_.insert(n.port);
  }
}

Result<std::unique_ptr<ClusterDriver>> ClusterDriver::start(const ClusterSpec& spec) {
  auto ports = pick_free_ports(static_cast<size_t>(spec.nodes));
  if (!ports.ok()) return ports.status();
  auto dir = make_temp_dir();
  if (!dir.ok()) return dir.status();
  std::vector<NodeEndpoint> nodes;
  for (int i = 0; i < spec.nodes; ++i) {
    nodes.push_back({i + 1, "127.0.0.1", ports.value()[static_cast<size_t>(i)]});
  }
  std::unique_ptr<ClusterDriver> d(
      new ClusterDriver(spec, dir.value(), nodes, make_cluster_json(spec, ports.value())));
  if (Status s = write_file_atomically(d->config_path_, d->config_.dump(2) + "\n"); !s.ok()) {
    d->shutdown(false);
    return s;
  }
  SpawnOptions options;
  options.argv = {spec.kvcluster, "-c", d->config_path_, "up"};
  options.output_path = d->output_path_;
  options.own_process_group = true;
  // If kv_chaos dies without cleaning up, kvcluster stops its nodes (they die with it).
  options.parent_death_signal = SIGTERM;
  auto pid = spawn_process(options);
  if (!pid.ok()) {
    d->shutdown(false);
    return pid.status();
  }
  d->kvcluster_pid_ = pid.value();
  return d;
}

ClusterDriver::~ClusterDriver() { shutdown(false); }

bool ClusterDriver::kvcluster_running(std::string* why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (kvcluster_pid_ <= 0) return false;
  if (kvcluster_reaped_) return false;
  if (auto status = try_reap(kvcluster_pid_)) {
    kvcluster_reaped_ = true;
    if (why != nullptr) *why = "kvcluster exited (" + describe_wait_status(*status) + ")";
    return false;
  }
  return true;
}

std::string ClusterDriver::output_tail(size_t max_lines) const {
  std::ifstream in(output_path_);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (lines.size() > max_lines) lines.pop_front();
  }
  std::string out;
  for (const std::string& l : lines) out += "  | " + l + "\n";
  return out;
}

Result<NodeView> ClusterDriver::view(int id, milliseconds timeout) const {
  const std::optional<NodeEndpoint> node = endpoint(id);
  if (!node) return Status::InvalidArgument(fmt::format("no node {}", id));
  auto info = ping_and_info(*node, timeout);
  if (!info.ok()) return info.status();
  const auto fields = parse_info(info.value());
  NodeView v;
  v.id = id;
  if (auto it = fields.find("role"); it != fields.end()) v.role = it->second;
  v.term = to_int(fields, "term");
  v.leader_id = to_int(fields, "leader_id");
  v.process_id = static_cast<pid_t>(to_int(fields, "process_id"));
  if (auto it = fields.find("voters"); it != fields.end()) v.voters = parse_id_list(it->second);
  if (auto it = fields.find("learners"); it != fields.end()) {
    v.learners = parse_id_list(it->second);
  }
  return v;
}

Result<NodeView> ClusterDriver::find_leader(milliseconds per_node_timeout) const {
  std::optional<NodeView> best;
  for (const NodeEndpoint& n : known_nodes()) {
    auto v = view(n.id, per_node_timeout);
    if (!v.ok() || v->role != "leader") continue;
    if (!best || v->term > best->term) best = v.value();
  }
  if (!best) return Status::NotFound("no node reports role:leader");
  return *best;
}

Result<NodeView> ClusterDriver::wait_for_leader(Clock::time_point deadline) const {
  while (true) {
    auto leader = find_leader(milliseconds(300));
    if (leader.ok() || Clock::now() >= deadline) return leader;
    std::this_thread::sleep_for(kPollInterval);
  }
}

Status ClusterDriver::wait_ready(Clock::time_point deadline, const std::atomic<bool>* stop) {
  constexpr int64_t kCrashLoop = 3;  // restarts while waiting that mean "it will not come up"
  std::map<int, int64_t> restarts_before;
  auto next_status = Clock::now();
  while (true) {
    std::string why;
    if (!kvcluster_running(&why)) return Status::IOError(why);
    if (stop != nullptr && stop->load()) return Status::IOError("interrupted");
    std::vector<std::string> problems;
    bool leader = false;
    std::map<int, pid_t> reported;  // INFO process_id per node
    const std::vector<NodeEndpoint> live = nodes();
    for (const NodeEndpoint& n : live) {
      auto v = view(n.id, milliseconds(300));
      if (!v.ok()) {
        problems.push_back(fmt::format("node{}: {}", n.id, v.status().message()));
        continue;
      }
      leader = leader || v->role == "leader";
      reported[n.id] = v->process_id;
    }
    if (problems.empty() && !leader) problems.push_back("no node reports role:leader");
    if (problems.empty()) {
      problems = pid_problems(live, reported);
      if (problems.empty()) return Status::OK();
    } else if (Clock::now() >= next_status) {
      // Not up yet: a node that keeps exiting will not be, however long we wait.
      next_status = Clock::now() + milliseconds(500);
      if (auto nodes = supervised(); nodes.ok()) {
        for (const auto& [id, node] : nodes.value()) {
          auto [it, fresh] = restarts_before.emplace(id, node.restarts);
          if (!fresh && node.restarts - it->second >= kCrashLoop) {
            return Status::IOError(
                fmt::format("node{} keeps exiting ({} restarts while waiting, last: {})", id,
                            node.restarts - it->second, node.last_exit));
          }
        }
      }
    }
    if (Clock::now() >= deadline) {
      std::string missing;
      for (const std::string& p : problems) missing += (missing.empty() ? "" : "; ") + p;
      return Status::IOError("cluster not ready: " + missing);
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

std::vector<std::string> ClusterDriver::pid_problems(const std::vector<NodeEndpoint>& live,
                                                     const std::map<int, pid_t>& reported) {
  auto nodes = supervised();
  if (!nodes.ok()) return {nodes.status().message()};
  std::vector<std::string> problems;
  for (const NodeEndpoint& n : live) {
    auto it = nodes->find(n.id);
    auto info = reported.find(n.id);
    if (it == nodes->end() || it->second.pid == 0 || info == reported.end() ||
        it->second.pid != info->second) {
      problems.push_back(fmt::format("node{}: kvcluster does not report its pid yet", n.id));
    }
  }
  return problems;
}

Result<std::map<int, SupervisedNode>> ClusterDriver::supervised(size_t* changes_in_progress) {
  auto out = run_command({spec_.kvcluster, "-c", config_path_, "status", "--json"}, kStatusTimeout);
  if (!out.ok()) return out.status();
  auto nodes = parse_status(out->out, changes_in_progress);
  if (!nodes.ok()) return nodes.status();
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, node] : nodes.value()) {
    if (node.pid <= 0) continue;
    if (auto st = read_proc_stat(node.pid); st && st->ppid == kvcluster_pid_) {
      seen_pids_.emplace(node.pid, st->start_time);
    }
  }
  return nodes;
}

Status ClusterDriver::reload() {
  auto out = run_command({spec_.kvcluster, "-c", config_path_, "reload"}, kStatusTimeout);
  if (!out.ok()) return out.status();
  if (!WIFEXITED(out->wait_status) || WEXITSTATUS(out->wait_status) != 0) {
    return Status::IOError("kvcluster reload: " + describe_wait_status(out->wait_status));
  }
  return Status::OK();
}

Result<NodeEndpoint> ClusterDriver::new_endpoint() {
  std::lock_guard<std::mutex> lock(config_mu_);
  // A port of an earlier (removed) node may be free again: never hand it out twice, so that
  // nothing stale (a peer link, a client) can reach the new node by the old one's address.
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto ports = pick_free_ports(1);
    if (!ports.ok()) return ports.status();
    const uint16_t port = ports.value()[0];
    if (used_ports_.count(port) != 0) continue;
    used_ports_.insert(port);
    return NodeEndpoint{next_id_++, "127.0.0.1", port};
  }
  return Status::IOError("no free port that no node of this run used");
}

Status ClusterDriver::add_to_file(const NodeEndpoint& node) {
  std::lock_guard<std::mutex> lock(config_mu_);
  auto next = with_node_added(config_, node_entry(spec_, node.id, node.port));
  if (!next.ok()) return next.status();
  // Known first: from the moment kvcluster sees the file, the node may be asked about.
  known_.add(node);
  if (Status s = write_file_atomically(config_path_, next->dump(2) + "\n"); !s.ok()) {
    known_.remove(node.id);
    return s;
  }
  config_ = std::move(next).value();
  return Status::OK();
}

Status ClusterDriver::remove_from_file(int id) {
  std::lock_guard<std::mutex> lock(config_mu_);
  auto next = with_node_removed(config_, id);
  if (!next.ok()) return next.status();
  // Out of the clients' and faults' picks before kvcluster hears of it.
  const std::optional<NodeEndpoint> was_live = live_.find(id);
  live_.remove(id);
  if (Status s = write_file_atomically(config_path_, next->dump(2) + "\n"); !s.ok()) {
    if (was_live) live_.add(*was_live);
    return s;
  }
  config_ = std::move(next).value();
  return Status::OK();
}

void ClusterDriver::make_live(int id) {
  if (auto node = known_.find(id)) live_.add(*node);
}

void ClusterDriver::forget(int id) {
  live_.remove(id);
  known_.remove(id);
}

Result<ProcessIdentity> ClusterDriver::node_process(int id) {
  auto nodes = supervised();
  if (!nodes.ok()) return nodes.status();
  auto it = nodes->find(id);
  if (it == nodes->end() || it->second.pid == 0) {
    return Status::NotFound(fmt::format("node{} has no pid now", id));
  }
  ProcessIdentity who;
  who.pid = it->second.pid;
  who.parent = kvcluster_pid_;  // only a kvstore our own kvcluster started
  return who;
}

Result<pid_t> ClusterDriver::signal_node(int id, int sig) {
  auto who = node_process(id);
  if (!who.ok()) return who.status();
  if (Status s = signal_process(who.value(), sig); !s.ok()) {
    return Status::IOError(fmt::format("node{} not signalled: {}", id, s.message()));
  }
  return who->pid;
}

Result<pid_t> ClusterDriver::pause_node(int id) {
  auto who = node_process(id);
  if (!who.ok()) return who.status();
  auto st = read_proc_stat(who->pid);
  if (!st) return Status::NotFound(fmt::format("node{} (pid {}) is gone", id, who->pid));
  who->start_time = st->start_time;
  if (Status s = signal_process(who.value(), SIGSTOP); !s.ok()) {
    return Status::IOError(fmt::format("node{} not signalled: {}", id, s.message()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  paused_[id] = who.value();
  return who->pid;
}

Status ClusterDriver::resume_node(int id) {
  ProcessIdentity who;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = paused_.find(id);
    if (it == paused_.end()) return Status::OK();
    who = it->second;
    paused_.erase(it);
  }
  // Only the very process we stopped: if it died meanwhile, nothing is left to resume.
  Status s = signal_process(who, SIGCONT);
  return s.is_not_found() ? Status::OK() : s;
}

void ClusterDriver::resume_all() {
  std::vector<int> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, who] : paused_) ids.push_back(id);
  }
  for (int id : ids) (void)resume_node(id);
}

void ClusterDriver::shutdown(bool keep_dir) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  resume_all();  // a stopped node cannot handle SIGTERM
  if (kvcluster_running()) {
    (void)supervised();  // learn the newest node pids before they are stopped
    ::kill(kvcluster_pid_, SIGTERM);
    auto status = wait_for_exit(kvcluster_pid_, kNodeStopTimeout + milliseconds(3000));
    if (!status) {
      ::kill(kvcluster_pid_, SIGKILL);
      status = wait_for_exit(kvcluster_pid_, milliseconds(5000));
    }
    std::lock_guard<std::mutex> lock(mu_);
    kvcluster_reaped_ = status.has_value();
  }
  std::map<pid_t, uint64_t> seen;
  {
    std::lock_guard<std::mutex> lock(mu_);
    seen = seen_pids_;
  }
  // The nodes die with kvcluster (PR_SET_PDEATHSIG); make sure of it, by pid.
  for (const auto& [pid, start_time] : seen) {
    (void)signal_process({pid, std::nullopt, start_time}, SIGKILL);
  }
  if (!keep_dir && !dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

}  // namespace kv::chaos
