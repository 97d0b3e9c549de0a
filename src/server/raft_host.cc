#include "server/raft_host.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/core.h>

#include "common/coding.h"
#include "common/logging.h"
#include "protocol/resp_writer.h"
#include "raft/message_codec.h"
#include "storage/hard_state.h"
#include "storage/snapshot.h"

namespace kv::server {
namespace {

using Clock = std::chrono::steady_clock;

// A request that cannot finish in this long (no quorum, no leader) is answered anyway, so a
// client without a timeout of its own is not left hanging.
constexpr std::chrono::seconds kRequestTimeout{5};

constexpr std::string_view kNoLeader = "CLUSTERDOWN no leader";
constexpr std::string_view kLostEntry =
    "CLUSTERDOWN the write lost its place in the log to a leader change and was not applied";
constexpr std::string_view kWriteTimeout =
    "TRYAGAIN the write was not confirmed by a majority in time; it may still be applied";
constexpr std::string_view kReadTimeout = "CLUSTERDOWN the read could not be confirmed by a majority in time";
constexpr std::string_view kReadDropped = "CLUSTERDOWN leadership changed during the read; retry";
constexpr std::string_view kLinkLostWrite =
    "TRYAGAIN lost the connection to the leader; the write may or may not have been applied";
constexpr std::string_view kSnapshotSkipped =
    "TRYAGAIN the outcome of the write is unknown (this node caught up from a snapshot)";

std::string error_reply(std::string_view text) {
  std::string out;
  protocol::write_error(&out, text);
  return out;
}

storage::RecordType record_type(raft::EntryType type) {
  switch (type) {
    case raft::EntryType::kCommand:
      return storage::RecordType::kCommand;
    case raft::EntryType::kNoOp:
      return storage::RecordType::kNoop;
    case raft::EntryType::kConfig:
      return storage::RecordType::kConfig;
  }
  return storage::RecordType::kNoop;
}

raft::EntryType entry_type(storage::RecordType type) {
  switch (type) {
    case storage::RecordType::kCommand:
      return raft::EntryType::kCommand;
    case storage::RecordType::kNoop:
      return raft::EntryType::kNoOp;
    case storage::RecordType::kConfig:
      return raft::EntryType::kConfig;
  }
  return raft::EntryType::kNoOp;
}

uint64_t random_seed() {
  uint64_t seed = 0;
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (::read(fd, &seed, sizeof(seed)) != sizeof(seed)) seed = 0;
    ::close(fd);
  }
  return seed ^ static_cast<uint64_t>(Clock::now().time_since_epoch().count()) ^
         (static_cast<uint64_t>(::getpid()) << 32);
}

const char* shown_role(raft::Role role) {
  // Pre-candidates are candidates to the outside world (INFO, kvcluster status).
  return role == raft::Role::kPreCandidate ? "candidate" : raft::role_name(role);
}

}  // namespace

RaftHost::RaftHost(const ServerConfig& config, net::EventLoop* loop, Store* store, Deliver deliver)
    : config_(config), loop_(loop), store_(store), deliver_(std::move(deliver)) {
  for (const auto& m : config_.members) {
    if (m.id == config_.node_id) continue;
    links_[m.id] = std::make_unique<PeerLink>(loop_, m, config_.node_id, config_.cluster_secret);
  }
}

RaftHost::~RaftHost() { loop_->cancel_timer(tick_timer_); }

Status RaftHost::start() {
  raft::RecoveredState state;
  auto hard = storage::load_hard_state(store_->data_dir());
  if (!hard.ok()) return hard.status();
  if (hard->has_value()) state.hard_state = {(*hard)->term, (*hard)->voted_for};
  state.snapshot = {store_->snapshot_index(), store_->snapshot_term()};
  if (store_->snapshot_index() > 0) {
    storage::SnapshotMeta meta;
    auto image = storage::read_snapshot_image(store_->data_dir(), &meta);
    if (!image.ok()) return image.status();
    state.snapshot_data = std::make_shared<const std::string>(std::move(image).value());
  }
  for (auto& rec : store_->take_recovered_records()) {
    state.entries.push_back({rec.index, rec.term, entry_type(rec.type), std::move(rec.payload)});
  }
  applied_ = store_->snapshot_index();
  applied_term_ = store_->snapshot_term();

  raft::Config rc;
  const int tick = std::max(1, config_.tick_ms);
  rc.election_timeout_min = std::max(3, config_.election_timeout_ms / tick);
  rc.election_timeout_max = rc.election_timeout_min * 2;
  rc.heartbeat_interval = std::max(1, rc.election_timeout_min / 6);
  if (std::string why = rc.validate(); !why.empty()) {
    return Status::InvalidArgument("raft timing: " + why);
  }
  std::vector<raft::NodeId> voters;
  for (const auto& m : config_.members) voters.push_back(m.id);
  node_ = std::make_unique<raft::RaftNode>(config_.node_id, voters, rc, random_seed(), std::move(state));
  soft_ = {node_->role(), node_->leader(), node_->term()};
  log::info("raft: node {} of {} members, term {}, log {}..{}, election timeout {}-{} ms",
            config_.node_id, voters.size(), node_->term(), node_->log().first_index(),
            node_->log().last_index(), rc.election_timeout_min * tick, rc.election_timeout_max * tick);
  arm_tick();
  return Status::OK();
}

void RaftHost::arm_tick() {
  tick_timer_ = loop_->run_after(std::chrono::milliseconds(std::max(1, config_.tick_ms)), [this] {
    node_->tick();
    arm_tick();
  });
}

void RaftHost::submit(const CommandSpec& spec, const std::vector<std::string>& args, ReplyTo to,
                      bool from_peer, uint64_t* conn_write_index) {
  const bool is_write = (spec.flags & kWrite) != 0;
  if (node_->role() != raft::Role::kLeader) {
    if (from_peer) {
      // We were the leader when the peer sent it; another forwarding hop could loop.
      deliver_(to, error_reply("CLUSTERDOWN this node is no longer the leader"));
    } else {
      forward(args, is_write, to);
    }
    return;
  }
  if (is_write) {
    std::string payload;
    coding::encode_argv(args, &payload);
    raft::Submission sub = node_->propose(std::move(payload));
    if (!sub.accepted) {
      deliver_(to, error_reply(kNoLeader));
      return;
    }
    writes_[sub.index] = {sub.term, to, Clock::now()};
    *conn_write_index = sub.index;
    return;
  }
  const uint64_t id = next_read_id_++;
  raft::Submission sub = node_->read_index(id);
  if (!sub.accepted) {
    deliver_(to, error_reply(kNoLeader));
    return;
  }
  PendingRead& read = reads_[id];
  read.spec = &spec;
  read.args = args;
  read.to = to;
  read.min_index = *conn_write_index;
  read.since = Clock::now();
}

void RaftHost::forward(const std::vector<std::string>& args, bool is_write, ReplyTo to) {
  const raft::NodeId leader = node_->leader();
  auto it = links_.find(leader);
  if (leader == raft::kNoNode || it == links_.end()) {
    deliver_(to, error_reply(kNoLeader));
    return;
  }
  Deliver deliver = deliver_;
  const std::string addr = it->second->peer().addr();
  bool sent = it->second->forward(args, [deliver, to, is_write, leader, addr](PeerLink::Outcome outcome,
                                                                              std::string_view reply) {
    switch (outcome) {
      case PeerLink::Outcome::kReply:
        deliver(to, std::string(reply));
        break;
      case PeerLink::Outcome::kNotSent:
        deliver(to, error_reply(fmt::format("CLUSTERDOWN leader {} at {} is unreachable", leader, addr)));
        break;
      case PeerLink::Outcome::kLost:
        deliver(to, error_reply(is_write ? kLinkLostWrite : "CLUSTERDOWN lost the connection to the leader"));
        break;
    }
  });
  if (!sent) {
    deliver_(to, error_reply(fmt::format("CLUSTERDOWN leader {} at {} is unreachable", leader,
                                         it->second->peer().addr())));
  }
}

void RaftHost::receive(std::string_view encoded_message) {
  raft::Message message;
  Status s = raft::decode_message(encoded_message, &message);
  if (!s.ok()) {
    log::warn("raft: dropped a malformed message: {}", s.message());
    return;
  }
  if (message.to != config_.node_id || !is_member(message.from)) return;
  node_->step(message);
}

void RaftHost::send(const raft::Message& message) {
  auto it = links_.find(message.to);
  if (it == links_.end()) return;
  static thread_local std::string encoded;
  encoded.clear();
  raft::encode_message(message, &encoded);
  it->second->send_raft(encoded);
}

void RaftHost::before_sleep() {
  maybe_compact();
  // Each round: act on a Ready, then make its log writes durable and report them, which may
  // commit entries or release acknowledgements, hence another Ready. A handful of rounds
  // settles everything that arrived in one turn of the loop.
  for (int round = 0; round < 16; ++round) {
    raft::Ready ready = node_->take_ready();
    if (ready.empty()) break;
    handle(ready);
  }
  for (auto& [id, link] : links_) link->flush();
}

void RaftHost::handle(raft::Ready& ready) {
  if (ready.soft_state) {
    const raft::SoftState& now = *ready.soft_state;
    if (now.role != soft_.role || now.leader != soft_.leader) {
      if (now.role == raft::Role::kLeader) {
        log::info("raft: leader in term {}", now.term);
      } else if (now.leader != raft::kNoNode && now.leader != soft_.leader) {
        log::info("raft: following node {} in term {}", now.leader, now.term);
      } else if (now.role == raft::Role::kPreCandidate) {
        log::info("raft: no leader heard within the election timeout; pre-vote for term {}", now.term + 1);
      } else if (now.role == raft::Role::kCandidate) {
        log::info("raft: standing for election in term {}", now.term);
      } else if (now.role != soft_.role) {
        log::info("raft: {} in term {}", shown_role(now.role), now.term);
      }
    }
    soft_ = now;
  }
  // 1. Term and vote, durable before any message that depends on them.
  if (ready.hard_state) {
    Status s = storage::save_hard_state(store_->data_dir(), {ready.hard_state->term, ready.hard_state->voted_for});
    if (!s.ok()) log::fatal("raft: saving term and vote: {}", s.ToString());
  }
  // 2. A snapshot from the leader replaces state machine and log.
  if (ready.install_snapshot) {
    uint64_t index = 0, term = 0;
    Status s = store_->install_snapshot(*ready.install_snapshot->data, &index, &term);
    if (!s.ok()) log::fatal("raft: the leader's snapshot is unusable: {}", s.ToString());
    applied_ = index;
    applied_term_ = term;
    // Writes proposed here that the snapshot covers: applied or not, nobody can tell now.
    while (!writes_.empty() && writes_.begin()->first <= index) {
      deliver_(writes_.begin()->second.to, error_reply(kSnapshotSkipped));
      writes_.erase(writes_.begin());
    }
  }
  // 3. Log writes (buffered; made durable below, after the messages went out).
  if (ready.truncate_from) store_->truncate_log(*ready.truncate_from);
  for (const raft::Entry& e : ready.entries) {
    store_->append_entry(e.term, e.index, record_type(e.type), e.payload);
  }
  // 4. Messages, written now so peers work on them while we fsync.
  for (const raft::Message& m : ready.messages) send(m);
  if (!ready.messages.empty()) {
    for (auto& [id, link] : links_) link->flush();
  }
  // 5. Committed entries, in order.
  for (const raft::Entry& e : ready.committed_entries) apply(e);
  if (!ready.committed_entries.empty()) {
    node_->applied(applied_);
    store_->set_applied(applied_, applied_term_);
  }
  // 6. Reads.
  for (const raft::ReadState& rs : ready.read_states) {
    auto it = reads_.find(rs.request_id);
    if (it == reads_.end()) continue;
    it->second.confirmed = true;
    it->second.read_index = rs.index;
  }
  for (uint64_t id : ready.dropped_reads) {
    auto it = reads_.find(id);
    if (it == reads_.end()) continue;
    deliver_(it->second.to, error_reply(kReadDropped));
    reads_.erase(it);
  }
  serve_reads();
  // Group commit: one fdatasync for every entry of this Ready, then tell the core.
  if (!ready.entries.empty()) {
    store_->sync_log();
    const raft::Entry& last = ready.entries.back();
    node_->persisted(last.index, last.term);
  }
}

void RaftHost::apply(const raft::Entry& e) {
  auto pending = writes_.find(e.index);
  const bool ours = pending != writes_.end() && pending->second.term == e.term;
  applied_ = e.index;
  applied_term_ = e.term;
  if (e.type == raft::EntryType::kCommand) {
    Status s = coding::decode_argv(e.payload, &argv_);
    const CommandSpec* spec = s.ok() && !argv_.empty() ? CommandTable::instance().find(argv_[0]) : nullptr;
    if (spec == nullptr || !(spec->flags & kWrite) || !CommandTable::arity_ok(*spec, argv_.size())) {
      // Every member holds the same entry: skipping it keeps them identical.
      log::error("raft: committed entry {} holds no valid write command; skipped", e.index);
    } else {
      scratch_.clear();
      CommandContext ctx{argv_, &scratch_, &store_->keys()};
      spec->handler(ctx);
    }
  }
  if (pending != writes_.end()) {
    deliver_(pending->second.to, ours ? std::move(scratch_) : error_reply(kLostEntry));
    scratch_.clear();
    writes_.erase(pending);
  }
}

void RaftHost::serve_reads() {
  for (auto it = reads_.begin(); it != reads_.end();) {
    PendingRead& r = it->second;
    if (!r.confirmed || applied_ < std::max(r.read_index, r.min_index)) {
      ++it;
      continue;
    }
    std::string out;
    CommandContext ctx{r.args, &out, &store_->keys()};
    r.spec->handler(ctx);
    deliver_(r.to, std::move(out));
    it = reads_.erase(it);
  }
}

void RaftHost::tick_housekeeping() {
  const auto deadline = Clock::now() - kRequestTimeout;
  for (auto it = writes_.begin(); it != writes_.end();) {
    if (it->second.since < deadline) {
      deliver_(it->second.to, error_reply(kWriteTimeout));
      it = writes_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (it->second.since < deadline) {
      deliver_(it->second.to, error_reply(kReadTimeout));
      it = reads_.erase(it);
    } else {
      ++it;
    }
  }
}

void RaftHost::maybe_compact() {
  auto done = store_->take_completed_snapshot();
  if (!done) return;
  storage::SnapshotMeta meta;
  auto image = storage::read_snapshot_image(store_->data_dir(), &meta);
  if (!image.ok()) {
    log::error("raft: cannot read the snapshot just taken: {}", image.status().ToString());
    return;
  }
  if (meta.last_index > node_->applied_index()) return;  // cannot happen; keep the log then
  node_->compact(meta.last_index, std::make_shared<const std::string>(std::move(image).value()));
}

std::string RaftHost::leader_addr() const {
  const PeerAddress* m = config_.member(node_->leader());
  return m == nullptr ? "" : m->addr();
}

std::string RaftHost::info_fields() const {
  std::string s;
  auto field = [&](std::string_view name, const auto& value) { s += fmt::format("{}:{}\r\n", name, value); };
  field("role", shown_role(node_->role()));
  field("node_id", config_.node_id);
  field("term", node_->term());
  field("leader_id", node_->leader());
  field("leader_addr", leader_addr());
  field("commit_index", node_->commit_index());
  field("applied_index", applied_);
  field("last_index", node_->log().last_index());
  field("snapshot_index", node_->log().snapshot().last_index);
  field("members", config_.members.size());
  std::map<uint64_t, raft::Index> match;
  for (const raft::PeerStatus& p : node_->peers()) match[p.id] = p.match;
  const bool leading = node_->role() == raft::Role::kLeader;
  for (const auto& m : config_.members) {
    if (m.id == config_.node_id) continue;
    auto it = match.find(m.id);
    const auto& link = links_.at(m.id);
    if (leading && it != match.end()) {
      raft::Index last = node_->log().last_index();
      field(fmt::format("peer_{}", m.id), fmt::format("addr={},match={},lag={},link={}", m.addr(),
                                                       it->second, last - std::min(last, it->second),
                                                       link->connected() ? "up" : "down"));
    } else {
      field(fmt::format("peer_{}", m.id),
            fmt::format("addr={},link={}", m.addr(), link->connected() ? "up" : "down"));
    }
  }
  return s;
}

}  // namespace kv::server
