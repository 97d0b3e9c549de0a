#include "raft/simulation.h"

#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "common/check.h"

namespace kv::raft::testing {

namespace {

constexpr int kStepsPerTick = 4;
constexpr size_t kTraceLines = 400;

std::string encode_state(const AppliedCommands& state) {
  std::string out;
  for (const auto& [index, payload] : state) out += fmt::format("{} {}\n", index, payload);
  return out;
}

AppliedCommands decode_state(const SnapshotData& data) {
  AppliedCommands state;
  if (!data) return state;
  std::istringstream in(*data);
  Index index;
  std::string payload;
  while (in >> index >> payload) state.emplace_back(index, payload);
  return state;
}

}  // namespace

Config SimOptions::default_config() {
  Config config;
  config.election_timeout_min = 10;
  config.election_timeout_max = 20;
  config.heartbeat_interval = 2;
  config.max_entries_per_append = 8;  // small limits exercise batching and pipelining
  config.max_bytes_per_append = 256;
  config.max_inflight_appends = 4;
  config.snapshot_chunk_bytes = 512;
  return config;
}

Simulation::Simulation(uint64_t seed, SimOptions options)
    : seed_(seed), options_(options), rng_(seed * 0x2545F4914F6CDD1DULL + 1) {
  for (size_t i = 0; i < options_.nodes; ++i) config_.voters.push_back(i + 1);
  for (size_t i = 0; i < options_.nodes; ++i) {
    auto host = std::make_unique<Host>();
    host->id = i + 1;
    host->tick_phase = uniform(kStepsPerTick);
    host->initial_voters = config_.voters;
    hosts_.push_back(std::move(host));
  }
  for (auto& host : hosts_) restart(*host);
}

Simulation::~Simulation() = default;

SimResult Simulation::run() {
  int step_count = 0;  // steps run, the failing one included
  bool healthy = true;
  for (int i = 0; i < options_.chaos_steps && healthy; ++i, ++step_count) healthy = step(true);
  if (healthy) {
    heal_all();
    bool done = false;
    for (int i = 0; i < options_.recovery_steps && !done && healthy; ++i, ++step_count) {
      healthy = step(false);
      done = healthy && recovered();
    }
    if (!done && !checker_.failed() && result_.failure.empty()) {
      result_.failure = fmt::format("liveness: no leader committing within {} steps of healing",
                                    options_.recovery_steps);
    }
  }
  if (checker_.failed()) result_.failure = checker_.failure();
  if (!result_.failure.empty()) {
    result_.failed_at_step = step_count;
    result_.trace.assign(trace_.begin(), trace_.end());
  }
  return result_;
}

bool Simulation::step(bool chaos) {
  chaos_ = chaos;
  ++now_;
  deliver_due();
  tick_nodes();
  client_actions();
  if (chaos && (options_.membership_rate > 0 || options_.transfer_rate > 0)) membership_actions();
  host_actions();
  if (chaos) inject_faults();
  for (auto& host : hosts_) {
    if (host->up()) process_ready(*host);
  }
  return !checker_.failed() && result_.failure.empty();
}

Simulation::Host* Simulation::host(NodeId id) {
  return id >= 1 && id <= hosts_.size() ? hosts_[id - 1].get() : nullptr;
}

void Simulation::deliver_due() {
  while (!network_.empty() && network_.top().deliver_at <= now_) {
    Message message = network_.top().message;
    network_.pop();
    Host* to = host(message.to);
    const Host* from = host(message.from);
    if (to == nullptr || from == nullptr || !to->up() || to->group != from->group) continue;
    if (options_.trace) trace(describe(message));
    to->raft->step(message);
  }
}

void Simulation::tick_nodes() {
  for (auto& host : hosts_) {
    if (host->up() && (now_ + host->tick_phase) % kStepsPerTick == 0) host->raft->tick();
  }
}

void Simulation::client_actions() {
  Host& host = *hosts_[uniform(hosts_.size())];
  if (!host.up()) return;
  if (chance(options_.propose_rate)) {
    std::string payload = fmt::format("c{}", next_command_++);
    Submission submission = host.raft->propose(payload);
    if (!submission.accepted && submission.leader != kNoNode) {  // forward, like a server
      Host* leader = this->host(submission.leader);
      if (leader && leader->up() && leader->group == host.group) {
        submission = leader->raft->propose(payload);
      }
    }
    if (options_.trace && submission.accepted) {
      trace(fmt::format("propose {} -> {}/{}", payload, submission.index, submission.term));
    }
  }
  if (chance(options_.read_rate)) {
    uint64_t id = ++next_read_;
    if (host.raft->read_index(id).accepted) host.reads[id] = checker_.max_known_commit();
  }
}

void Simulation::host_actions() {
  for (auto& host : hosts_) {
    if (!host->up()) continue;
    if (!host->unsynced.empty() && chance(options_.sync_rate)) sync(*host);
  }
}

void Simulation::inject_faults() {
  if (chance(options_.crash_rate)) {
    Host& host = *hosts_[uniform(hosts_.size())];
    if (host.up()) crash(host);
  }
  for (auto& host : hosts_) {
    if (!host->up() && !host->retired && chance(options_.restart_rate)) restart(*host);
  }
  if (chance(options_.partition_rate)) {
    std::string sides;
    for (auto& host : hosts_) {
      host->group = uniform(2);
      sides += fmt::format(" {}:{}", host->id, host->group);
    }
    if (options_.trace) trace("partition" + sides);
  }
  if (chance(options_.heal_rate)) {
    for (auto& host : hosts_) host->group = 0;
  }
}

void Simulation::heal_all() {
  if (options_.trace) trace("heal all");
  for (auto& host : hosts_) {
    host->group = 0;
    if (!host->up() && !host->retired) restart(*host);
  }
}

void Simulation::process_ready(Host& host) {
  RaftNode& raft = *host.raft;
  Ready ready = raft.take_ready();
  if (ready.empty() && ready.commit_index == host.commit) {
    if (chance(options_.compact_rate)) compact(host);
    return;
  }
  if (options_.trace) {
    trace(fmt::format("ready {}: {} t{} hs={} trunc={} entries={} msgs={} commit={} apply={}",
                      host.id, role_name(raft.role()), raft.term(), ready.hard_state.has_value(),
                      ready.truncate_from.value_or(0), ready.entries.size(), ready.messages.size(),
                      ready.commit_index, ready.committed_entries.size()));
  }
  // The order Ready prescribes: hard state durable, snapshot installed, log written
  // (synced later), then messages leave.
  if (ready.hard_state) {
    KV_CHECK(ready.hard_state->term >= host.hard_state.term);
    host.hard_state = *ready.hard_state;
  }
  if (ready.install_snapshot) install_snapshot(host, *ready.install_snapshot);
  if (ready.truncate_from || !ready.entries.empty()) {
    checker_.on_entries(host.id, raft.log(), ready.entries);
    host.unsynced.push_back({ready.truncate_from, ready.entries, ready.commit_index});
  }
  for (const Message& message : ready.messages) {
    checker_.on_send(host.id, host.hard_state, message);
    send(message, chaos_);
  }
  checker_.on_commit(host.id, raft.term(), raft.log(), host.commit, ready.commit_index);
  host.commit = ready.commit_index;
  apply_entries(host, ready.committed_entries);
  raft.applied(host.applied);
  for (const ReadState& read : ready.read_states) {
    checker_.on_read(host.id, read.index, host.reads.at(read.request_id));
    host.reads.erase(read.request_id);
    ++result_.reads;
  }
  for (uint64_t id : ready.dropped_reads) host.reads.erase(id);
  if (chance(options_.compact_rate)) compact(host);  // after applying, as a server would
  // Only these can change a configuration (checking after every append costs a log scan).
  bool membership_may_change =
      ready.membership || ready.truncate_from || ready.install_snapshot ||
      std::any_of(ready.entries.begin(), ready.entries.end(),
                  [](const Entry& e) { return e.type == EntryType::kConfig; });
  checker_.on_membership(host.id, raft, membership_may_change);
  if (raft.role() == Role::kLeader) {
    if (ready.soft_state) {
      ++result_.leaders;
      observe_leader(host);
    }
    checker_.on_leader(host.id, raft.term(), raft.log());
  }
}

void Simulation::apply_entries(Host& host, const std::vector<Entry>& entries) {
  for (const Entry& entry : entries) {
    checker_.on_apply(host.id, host.applied, entry);
    host.applied = entry.index;
    if (entry.type == EntryType::kConfig) observe_config(entry);
    if (entry.type != EntryType::kCommand) continue;
    host.state.emplace_back(entry.index, entry.payload);
    if (entry.payload == "marker") host.saw_marker = true;
    ++result_.committed;
  }
}

void Simulation::install_snapshot(Host& host, const SnapshotInstall& install) {
  // Atomic replace of state machine and log; writes still pending are void.
  host.snapshot = install.meta;
  host.snapshot_data = install.data;
  host.log.clear();
  host.unsynced.clear();
  host.state = decode_state(install.data);
  host.applied = install.meta.last_index;
  host.saw_marker = std::any_of(host.state.begin(), host.state.end(),
                                [](const auto& command) { return command.second == "marker"; });
  checker_.on_snapshot_state(host.id, install.meta.last_index, host.state);
  ++result_.snapshots_installed;
  if (options_.trace)
    trace(fmt::format("install {} snapshot {}", host.id, install.meta.last_index));
}

void Simulation::send(const Message& message, bool chaos) {
  ++result_.messages;
  if (chaos && chance(options_.drop_rate)) return;
  int copies = chaos && chance(options_.duplicate_rate) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    int delay = 1 + uniform(options_.max_delay);
    if (chaos && chance(options_.long_delay_rate)) delay += uniform(options_.long_delay);
    network_.push({now_ + delay, send_order_++, message});
  }
}

// An fsync completes: everything written so far becomes durable.
void Simulation::sync(Host& host) {
  for (Host::Write& write : host.unsynced) {
    if (write.truncate_from) {
      KV_CHECK(*write.truncate_from > host.snapshot.last_index);
      host.log.resize(
          std::min(host.log.size(), *write.truncate_from - host.snapshot.last_index - 1));
    }
    for (Entry& entry : write.entries) {
      if (!expect(
              entry.index == host.last_stored() + 1,
              fmt::format("node {} wrote {} after {}", host.id, entry.index, host.last_stored()))) {
        return;
      }
      host.log.push_back(std::move(entry));
    }
    host.stored_commit = write.commit;
  }
  host.unsynced.clear();
  Term last_term = host.log.empty() ? host.snapshot.last_term : host.log.back().term;
  if (options_.trace)
    trace(fmt::format("sync {} -> {}/{}", host.id, host.last_stored(), last_term));
  host.raft->persisted(host.last_stored(), last_term);
}

// The host snapshots its state machine and drops the log prefix it covers.
void Simulation::compact(Host& host) {
  Index index = host.applied;
  if (index < host.snapshot.last_index + 4) return;
  if (!expect(index <= host.last_stored(),
              fmt::format("node {} applied unstored {}", host.id, index))) {
    return;
  }
  Term term = host.log[index - host.snapshot.last_index - 1].term;
  if (!expect(host.raft->log().term_at(index) == term,
              fmt::format("node {} stored {}/{} but its log differs", host.id, index, term))) {
    return;
  }
  auto data = std::make_shared<const std::string>(encode_state(host.state));
  // The configuration is stored with the snapshot: a restart must not fall back to the
  // initial voters once the config entries before `index` are gone from the log.
  Membership membership = host.raft->membership_at(index);
  host.raft->compact(index, data);
  host.log.erase(host.log.begin(), host.log.begin() + (index - host.snapshot.last_index));
  host.snapshot = {index, term, membership};
  host.snapshot_data = data;
  if (options_.trace) trace(fmt::format("compact {} at {}", host.id, index));
}

void Simulation::crash(Host& host) {
  if (options_.trace) trace(fmt::format("crash {}", host.id));
  host.raft.reset();
  host.unsynced.clear();
  host.reads.clear();
  ++result_.crashes;
}

void Simulation::restart(Host& host) {
  if (options_.trace) trace(fmt::format("restart {}", host.id));
  RecoveredState recovered{host.hard_state, host.snapshot, host.snapshot_data, host.log,
                           host.stored_commit};
  uint64_t node_seed = seed_ * 1000003 + host.id * 101 + host.lives++;
  host.raft = std::make_unique<RaftNode>(host.id, host.initial_voters, options_.config, node_seed,
                                         std::move(recovered));
  host.state = decode_state(host.snapshot_data);
  host.applied = host.snapshot.last_index;
  host.commit = host.raft->commit_index();
  host.saw_marker = std::any_of(host.state.begin(), host.state.end(),
                                [](const auto& command) { return command.second == "marker"; });
  checker_.on_snapshot_state(host.id, host.applied, host.state);
}

Simulation::Host* Simulation::leader() {
  Host* best = nullptr;
  for (auto& host : hosts_) {
    if (!host->up() || host->raft->role() != Role::kLeader) continue;
    if (!best || host->raft->term() > best->raft->term()) best = host.get();
  }
  return best;
}

// Healed: a leader exists, a command proposed through it was applied by every member of
// its configuration.
bool Simulation::recovered() {
  Host* current = leader();
  if (!current) return false;
  RaftNode& raft = *current->raft;
  if (marker_ && raft.commit_index() >= marker_->first &&
      raft.log().term_at(marker_->first) != marker_->second) {
    marker_.reset();  // lost with its leader's term: propose again
  }
  if (!marker_) {
    Submission submission = raft.propose("marker");
    if (submission.accepted) marker_ = {submission.index, submission.term};
    return false;
  }
  const Membership& members = raft.membership();
  return std::all_of(hosts_.begin(), hosts_.end(),
                     [&](auto& host) { return host->saw_marker || !members.contains(host->id); });
}

bool Simulation::expect(bool condition, const std::string& what) {
  if (!condition && result_.failure.empty()) result_.failure = "host: " + what;
  return condition;
}

bool Simulation::chance(double p) {
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < p;
}

int Simulation::uniform(int n) {
  return static_cast<int>(std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_));
}

void Simulation::trace(const std::string& event) {
  trace_.push_back(fmt::format("[{}] {}", now_, event));
  if (trace_.size() > kTraceLines) trace_.pop_front();
}

}  // namespace kv::raft::testing
