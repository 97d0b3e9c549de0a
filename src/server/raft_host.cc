#include "server/raft_host.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "common/check.h"
#include "common/coding.h"
#include "common/logging.h"
#include "protocol/resp_writer.h"
#include "raft/membership.h"
#include "raft/message_codec.h"
#include "server/string_util.h"
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
// What a former leader answers a forwarded command: it was not applied, so the forwarding
// node may try again at the new leader.
constexpr std::string_view kNoLongerLeader = "CLUSTERDOWN this node is no longer the leader";
constexpr std::string_view kRaftUsage =
    "ERR usage: RAFT ADDLEARNER <id> <host:port> | RAFT PROMOTE <id> | RAFT REMOVE <id> | "
    "RAFT TRANSFER <id>";
constexpr std::chrono::seconds kTransferTimeout{5};
// A batch is proposed once it holds this much, even before the loop sleeps.
constexpr size_t kMaxBatchBytes = 256 * 1024;

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
    case raft::EntryType::kBatch:
      return storage::RecordType::kBatch;
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
    case storage::RecordType::kBatch:
      return raft::EntryType::kBatch;
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

// A node id as RAFT commands name it: 1 .. 2^32-1, like --id.
std::optional<raft::NodeId> parse_node_id(std::string_view text) {
  std::optional<uint64_t> v = parse_uint64(text);
  if (!v || *v == 0 || *v > UINT32_MAX) return std::nullopt;
  return v;
}

// A refusal of the core as the reply to a RAFT command: TRYAGAIN when waiting can help.
std::string refusal_reply(raft::Refusal why, raft::NodeId id) {
  const char* text = raft::refusal_text(why);
  switch (why) {
    case raft::Refusal::kLearnerBehind:
      return error_reply(fmt::format("TRYAGAIN learner {} is still catching up ({})", id, text));
    case raft::Refusal::kTransferring:
    case raft::Refusal::kLeaderNotReady:
    case raft::Refusal::kChangePending:
    case raft::Refusal::kNotLeader:
      return error_reply(fmt::format("TRYAGAIN {}", text));
    default:
      return error_reply(fmt::format("ERR node {}: {}", id, text));
  }
}

std::string ok_reply() {
  std::string out;
  protocol::write_simple(&out, "OK");
  return out;
}

std::string ids_text(const std::vector<raft::NodeId>& ids) { return fmt::format("{}", fmt::join(ids, ",")); }

// Applying writes known in advance, n of them, while the i-th applies: the key of write
// i+8 has its bucket loaded and the key of write i+4 its chain head, so the key lookups'
// cache misses (random keys in a large table) overlap. key_of(j): write j's key.
template <typename KeyOf>
void prefetch_ahead(const storage::KeySpace& keys, size_t i, size_t n, KeyOf key_of) {
  constexpr size_t kBucketAhead = 8;
  constexpr size_t kEntryAhead = 4;
  if (i + kBucketAhead < n) keys.prefetch_bucket(key_of(i + kBucketAhead));
  if (i + kEntryAhead < n) keys.prefetch_entry(key_of(i + kEntryAhead));
}

}  // namespace

RaftHost::RaftHost(const ServerConfig& config, net::EventLoop* loop, Store* store, Deliver deliver)
    : config_(config), loop_(loop), store_(store), deliver_(std::move(deliver)) {}

RaftHost::~RaftHost() { loop_->cancel_timer(tick_timer_); }

Status RaftHost::start() {
  raft::RecoveredState state;
  auto hard = storage::load_hard_state(store_->data_dir());
  if (!hard.ok()) return hard.status();
  if (hard->has_value()) state.hard_state = {(*hard)->term, (*hard)->voted_for};
  state.snapshot = {store_->snapshot_index(), store_->snapshot_term()};
  if (!store_->snapshot_membership().empty()) {
    Status s = raft::decode_membership(store_->snapshot_membership(), &state.snapshot.membership);
    if (!s.ok()) return Status::Corruption(store_->data_dir() + "/snapshot.bin: " + s.message());
  }
  store_->set_snapshot_membership(store_->snapshot_membership());
  if (store_->snapshot_index() > 0) {
    storage::SnapshotMeta meta;
    auto image = storage::read_snapshot_image(store_->data_dir(), &meta);
    if (!image.ok()) return image.status();
    state.snapshot_data = std::make_shared<const std::string>(std::move(image).value());
  }
  for (auto& rec : store_->take_recovered_records()) {
    state.entries.push_back({rec.index, rec.term, entry_type(rec.type), std::move(rec.payload)});
  }
  if (!hard->has_value() && store_->snapshot_index() == 0 && state.entries.empty() && !config_.join) {
    // A founding member's first start: the voters of --peers become the log's first entry (a
    // configuration entry at index 1 in term 1, the same on every founding member), so the
    // membership lives in the log from now on. A later --peers naming other nodes then only
    // tells where the members listen; who votes changes only through the log (RAFT
    // ADDLEARNER/PROMOTE/REMOVE). Term 1 is saved first: no entry may be newer than the term.
    raft::Membership initial;
    for (const auto& m : config_.members) initial.voters.push_back(m.id);
    std::sort(initial.voters.begin(), initial.voters.end());
    std::string payload;
    raft::encode_membership(initial, &payload);
    Status s = storage::save_hard_state(store_->data_dir(), {1, raft::kNoNode});
    if (!s.ok()) return s;
    state.hard_state = {1, raft::kNoNode};
    store_->append_entry(1, 1, storage::RecordType::kConfig, payload);
    store_->sync_log();
    state.entries.push_back({1, 1, raft::EntryType::kConfig, std::move(payload)});
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
  if (!config_.join) {
    for (const auto& m : config_.members) voters.push_back(m.id);
  }
  for (const raft::Entry& e : state.entries) {
    if (e.type != raft::EntryType::kConfig) continue;
    raft::Membership m;
    if (Status s = raft::decode_membership(e.payload, &m); !s.ok()) {
      return Status::Corruption(fmt::format("{}/wal.bin: config entry {}: {}", store_->data_dir(), e.index, s.message()));
    }
  }
  node_ = std::make_unique<raft::RaftNode>(config_.node_id, voters, rc, random_seed(), std::move(state));
  soft_ = {node_->role(), node_->leader(), node_->term()};
  park_limit_ = std::chrono::milliseconds(2 * rc.election_timeout_max * tick);
  on_membership(node_->membership());
  if (membership_.empty()) {
    log::info("raft: node {} waits to be added to the cluster (--join); term {}", config_.node_id,
              node_->term());
  } else {
    log::info("raft: node {} in {}, term {}, log {}..{}, election timeout {}-{} ms", config_.node_id,
              raft::describe(membership_), node_->term(), node_->log().first_index(),
              node_->log().last_index(), rc.election_timeout_min * tick, rc.election_timeout_max * tick);
  }
  arm_tick();
  return Status::OK();
}

void RaftHost::arm_tick() {
  tick_timer_ = loop_->run_after(std::chrono::milliseconds(std::max(1, config_.tick_ms)), [this] {
    propose_batch();
    node_->tick();
    retry_parked();
    check_shutdown();
    arm_tick();
  });
}

void RaftHost::submit(const CommandSpec& spec, const std::vector<std::string>& args, ReplyTo to,
                      bool from_peer, uint64_t* conn_write_index) {
  // The common case, a write reaching the leader, copies its arguments only if refused.
  if ((spec.flags & kWrite) && node_->role() == raft::Role::kLeader) {
    raft::Submission sub = propose_write(args, to, conn_write_index);
    if (!sub.accepted) refused(sub.refusal, {&spec, args, to, from_peer, Clock::now()});
    return;
  }
  dispatch({&spec, args, to, from_peer, Clock::now()}, conn_write_index);
}

raft::Submission RaftHost::propose_write(const std::vector<std::string>& args, const ReplyTo& to,
                                         uint64_t* conn_write_index) {
  raft::Submission sub = node_->next_proposal();
  if (!sub.accepted) return sub;
  if (batch_.empty()) {
    coding::start_batch(&batch_);
    batch_index_ = sub.index;
  }
  coding::append_to_batch(args, &batch_);
  batch_to_.push_back(to);
  *conn_write_index = batch_index_;  // the batch's entry: nothing else is appended before it
  if (batch_.size() >= kMaxBatchBytes) propose_batch();
  return sub;
}

void RaftHost::propose_batch() {
  if (batch_.empty()) return;
  std::vector<ReplyTo> to;
  to.swap(batch_to_);
  raft::Submission sub = node_->propose(std::exchange(batch_, std::string()), raft::EntryType::kBatch);
  if (!sub.accepted) {
    // Not expected: whatever could change the role or start a transfer proposes the batch
    // first. Nothing was applied, so the clients may retry.
    for (const ReplyTo& t : to) deliver_(t, error_reply(kNoLeader));
    return;
  }
  KV_CHECK(sub.index == batch_index_);  // the index propose_write announced
  writes_[sub.index] = {sub.term, std::move(to), Clock::now()};
}

void RaftHost::refused(raft::Refusal refusal, Parked request) {
  if (refusal == raft::Refusal::kTransferring) return park(std::move(request));
  deliver_(request.to, error_reply(kNoLeader));
}

void RaftHost::dispatch(Parked request, uint64_t* conn_write_index) {
  if (request.spec == nullptr) return dispatch_admin(std::move(request));
  const bool is_write = (request.spec->flags & kWrite) != 0;
  if (node_->role() != raft::Role::kLeader) {
    if (request.from_peer) {
      // We were the leader when the peer sent it; another forwarding hop could loop.
      deliver_(request.to, error_reply(kNoLongerLeader));
    } else {
      forward(std::move(request), is_write);
    }
    return;
  }
  if (is_write) {
    raft::Submission sub = propose_write(request.args, request.to, conn_write_index);
    if (!sub.accepted) refused(sub.refusal, std::move(request));
    return;
  }
  propose_batch();  // the connection's last write (min_index below) is in the log first
  const uint64_t id = next_read_id_++;
  raft::Submission sub = node_->read_index(id);
  if (!sub.accepted) return refused(sub.refusal, std::move(request));
  PendingRead& read = reads_[id];
  read.spec = request.spec;
  read.args = std::move(request.args);
  read.to = request.to;
  read.min_index = *conn_write_index;
  read.since = Clock::now();
}

void RaftHost::submit_admin(const std::vector<std::string>& args, ReplyTo to, bool from_peer) {
  dispatch_admin({nullptr, args, to, from_peer, Clock::now()});
}

void RaftHost::dispatch_admin(Parked request) {
  propose_batch();  // before a transfer or a configuration entry
  const auto& args = request.args;
  const std::string_view sub = args.size() >= 2 ? std::string_view(args[1]) : std::string_view();
  const bool add = equals_ignore_case(sub, "addlearner");
  const bool promote = equals_ignore_case(sub, "promote");
  const bool remove = equals_ignore_case(sub, "remove");
  const bool transfer = equals_ignore_case(sub, "transfer");
  const std::optional<raft::NodeId> id = args.size() >= 3 ? parse_node_id(args[2]) : std::nullopt;
  if (!(add || promote || remove || transfer) || args.size() != (add ? 4u : 3u)) {
    deliver_(request.to, error_reply(kRaftUsage));
    return;
  }
  if (!id) {
    deliver_(request.to, error_reply(fmt::format("ERR '{}' is not a node id (1-{})", args[2], UINT32_MAX)));
    return;
  }
  PeerAddress address;
  if (add) {
    if (std::string why = parse_address(args[3], &address); !why.empty()) {
      deliver_(request.to, error_reply(fmt::format("ERR address '{}': {}", args[3], why)));
      return;
    }
  }
  if (node_->role() != raft::Role::kLeader) {
    if (request.from_peer) {
      deliver_(request.to, error_reply(kNoLongerLeader));
    } else {
      forward(std::move(request), true);
    }
    return;
  }
  if (transfer) {
    if (*id == config_.node_id) {
      deliver_(request.to, ok_reply());
      return;
    }
    if (!node_->transfer_leadership(*id)) {
      if (node_->transfer_target() != raft::kNoNode) {
        deliver_(request.to, error_reply(fmt::format("TRYAGAIN a leadership transfer to node {} is under way",
                                                     node_->transfer_target())));
      } else {
        deliver_(request.to, error_reply(fmt::format("ERR node {} is not a voter", *id)));
      }
      return;
    }
    log::info("raft: handing leadership to node {} (RAFT TRANSFER)", *id);
    transfers_.push_back({*id, request.to, Clock::now()});
    return;
  }
  if (remove && *id == config_.node_id) {
    // Hand leadership over first and let the new leader remove us: writes in flight here
    // then commit under it and are answered, instead of dying with this leader's term.
    if (raft::NodeId successor = best_successor(); successor != raft::kNoNode) {
      if (node_->transfer_leadership(successor)) {
        log::info("raft: asked to remove this node; handing leadership to node {} first", successor);
      }
      return park(std::move(request));
    }
  }
  raft::ConfigChange change;
  change.kind = add ? raft::ConfigChange::Kind::kAddLearner
                    : promote ? raft::ConfigChange::Kind::kPromote : raft::ConfigChange::Kind::kRemove;
  change.id = *id;
  if (add) change.address = address.addr();
  raft::Submission s = node_->propose_config(change);
  if (!s.accepted) {
    if (s.refusal == raft::Refusal::kTransferring) return park(std::move(request));
    deliver_(request.to, refusal_reply(s.refusal, *id));
    return;
  }
  log::info("raft: membership change {} node {}{} proposed at index {}", raft::describe(change.kind), *id,
            add ? " at " + change.address : "", s.index);
  writes_[s.index] = {s.term, {request.to}, Clock::now()};
}

void RaftHost::forward(Parked request, bool is_write) {
  const raft::NodeId leader = node_->leader();
  PeerLink* to_leader = leader == raft::kNoNode ? nullptr : link(leader);
  if (to_leader == nullptr || node_->transfer_target() != raft::kNoNode) return park(std::move(request));
  const ReplyTo to = request.to;
  // Kept for another try: a command the leader never saw, or one a former leader refused
  // unapplied, goes to the next leader.
  auto retry = std::make_shared<Parked>(std::move(request));
  bool sent = to_leader->forward(retry->args, [this, retry, to, is_write](PeerLink::Outcome outcome,
                                                                          std::string_view reply) {
    switch (outcome) {
      case PeerLink::Outcome::kReply:
        if (reply.size() > 1 && reply.substr(1, kNoLongerLeader.size()) == kNoLongerLeader) {
          park(std::move(*retry));
        } else {
          deliver_(to, std::string(reply));
        }
        break;
      case PeerLink::Outcome::kNotSent:
        park(std::move(*retry));
        break;
      case PeerLink::Outcome::kLost:
        deliver_(to, error_reply(is_write ? kLinkLostWrite : "CLUSTERDOWN lost the connection to the leader"));
        break;
    }
  });
  if (!sent) park(std::move(*retry));
}

void RaftHost::park(Parked request) {
  if (Clock::now() - request.since >= park_limit_) {
    const raft::NodeId leader = node_->leader();
    auto addr = address_of(leader);
    deliver_(request.to, error_reply(leader == raft::kNoNode || leader == config_.node_id || !addr
                                         ? std::string(kNoLeader)
                                         : fmt::format("CLUSTERDOWN leader {} at {} is unreachable", leader,
                                                       addr->addr())));
    return;
  }
  parked_.push_back(std::move(request));
}

void RaftHost::retry_parked() {
  if (parked_.empty()) return;
  const bool placeable = node_->leader() != raft::kNoNode && node_->transfer_target() == raft::kNoNode;
  std::vector<Parked> batch;
  batch.swap(parked_);
  for (Parked& request : batch) {
    if (placeable) {
      dispatch(std::move(request), &parked_write_index_);
    } else {
      park(std::move(request));  // fails it once too old
    }
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
  propose_batch();
  node_->step(message);
}

void RaftHost::send(const raft::Message& message) {
  PeerLink* to = link(message.to);
  if (to == nullptr) return;
  static thread_local std::string encoded;
  encoded.clear();
  raft::encode_message(message, &encoded);
  to->send_raft(encoded);
}

std::optional<PeerAddress> RaftHost::address_of(raft::NodeId id) const {
  PeerAddress out;
  out.id = id;
  if (auto it = membership_.addresses.find(id); it != membership_.addresses.end()) {
    if (parse_address(it->second, &out).empty()) return out;
  }
  if (const PeerAddress* m = config_.member(id)) return *m;
  return std::nullopt;
}

PeerLink* RaftHost::link(raft::NodeId id) {
  if (id == config_.node_id || id == raft::kNoNode) return nullptr;
  if (auto it = links_.find(id); it != links_.end()) return it->second.get();
  std::optional<PeerAddress> addr = address_of(id);
  if (!addr) return nullptr;
  auto& slot = links_[id];
  slot = std::make_unique<PeerLink>(loop_, *addr, config_.node_id, config_.cluster_secret);
  return slot.get();
}

void RaftHost::on_membership(raft::Membership membership) {
  if (!membership_.empty() || !membership.empty()) {
    if (membership != membership_) log::info("raft: configuration {}", raft::describe(membership));
  }
  membership_ = std::move(membership);
  prune_links();
}

// Links to nodes that now live at another address go at once; links to nodes that left the
// configuration go once no forwarded command waits on them (a follower's forwarded RAFT
// REMOVE of the leader waits on the link to that very leader). New links open on first use.
void RaftHost::prune_links() {
  for (auto it = links_.begin(); it != links_.end();) {
    std::optional<PeerAddress> addr = address_of(it->first);
    const bool moved = !addr || addr->addr() != it->second->peer().addr();
    const bool left = !membership_.empty() && !membership_.contains(it->first);
    if (!moved && !(left && !it->second->busy())) {
      ++it;
      continue;
    }
    std::unique_ptr<PeerLink> gone = std::move(it->second);
    it = links_.erase(it);
    gone->shut_down();  // forwarded commands waiting on it fail (and may be parked again)
  }
}

void RaftHost::before_sleep() {
  propose_batch();
  maybe_compact();
  // Each round: act on the core's Readies, then make the log writes durable and report them
  // (group commit: one fdatasync for all), which may commit entries or release
  // acknowledgements, hence more Readies. A handful of rounds settles everything that
  // arrived in one turn of the loop.
  for (int round = 0; round < 16; ++round) {
    pump();
    if (unsynced_index_ == 0) break;
    // Replies released since the last sync depend on entries already committed (durable on
    // a majority), not on this fsync: they go out first.
    if (replies_released_ && flush_replies_) flush_replies_();
    replies_released_ = false;
    store_->sync_log();
    node_->persisted(std::exchange(unsynced_index_, 0), std::exchange(unsynced_term_, 0));
  }
  apply_committed();
  for (auto& [id, link] : links_) link->flush();
}

void RaftHost::pump() {
  for (int round = 0; round < 16; ++round) {
    raft::Ready ready = node_->take_ready();
    if (ready.empty()) break;
    handle(ready);
  }
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
        log::info("raft: {} in term {}", raft::role_name(now.role), now.term);
      }
    }
    soft_ = now;
    settle_transfers();
  }
  // The configuration changed (a config entry appended or truncated, a snapshot installed):
  // peer links follow it before any message goes out.
  if (ready.membership) on_membership(std::move(*ready.membership));
  // 1. Term and vote, durable before any message that depends on them.
  if (ready.hard_state) {
    Status s = storage::save_hard_state(store_->data_dir(), {ready.hard_state->term, ready.hard_state->voted_for});
    if (!s.ok()) log::fatal("raft: saving term and vote: {}", s.ToString());
  }
  // 2. A snapshot from the leader replaces state machine and log (entries committed
  // before it are applied first: they are older than the snapshot).
  if (ready.install_snapshot) {
    apply_committed();
    uint64_t index = 0, term = 0;
    Status s = store_->install_snapshot(*ready.install_snapshot->data, &index, &term);
    if (!s.ok()) log::fatal("raft: the leader's snapshot is unusable: {}", s.ToString());
    applied_ = index;
    applied_term_ = term;
    store_->set_snapshot_membership(store_->snapshot_membership());
    // Writes proposed here that the snapshot covers: applied or not, nobody can tell now.
    while (!writes_.empty() && writes_.begin()->first <= index) {
      for (const ReplyTo& to : writes_.begin()->second.to) deliver_(to, error_reply(kSnapshotSkipped));
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
  // 5. Committed entries, in order. A follower about to fsync new entries applies after the
  // fsync and its acknowledgement (the next Ready), so applying never delays the commit.
  for (raft::Entry& e : ready.committed_entries) to_apply_.push_back(std::move(e));
  if (soft_.role == raft::Role::kLeader || ready.entries.empty()) apply_committed();
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
  if (!ready.committed_entries.empty() || !ready.read_states.empty()) replies_released_ = true;
  // Synced and reported to the core by before_sleep.
  if (!ready.entries.empty()) {
    unsynced_index_ = ready.entries.back().index;
    unsynced_term_ = ready.entries.back().term;
  }
}

void RaftHost::apply_committed() {
  if (to_apply_.empty()) return;
  // (A batch prefetches its own commands: apply_batch.)
  auto key_of = [this](size_t i) {
    const raft::Entry& e = to_apply_[i];
    return e.type == raft::EntryType::kCommand ? coding::argv_at(e.payload, 1) : std::string_view();
  };
  const size_t n = to_apply_.size();
  for (size_t i = 0; i < n; ++i) {
    prefetch_ahead(store_->keys(), i, n, key_of);
    apply(to_apply_[i]);
  }
  to_apply_.clear();
  node_->applied(applied_);
  store_->set_applied(applied_, applied_term_);
  serve_reads();  // reads that waited for these entries (a follower applies late: see handle)
}

void RaftHost::apply(const raft::Entry& e) {
  auto pending = writes_.find(e.index);
  const bool ours = pending != writes_.end() && pending->second.term == e.term;
  applied_ = e.index;
  applied_term_ = e.term;
  if (e.type == raft::EntryType::kBatch) {
    apply_batch(e, ours ? &pending->second.to : nullptr);
  } else if (e.type == raft::EntryType::kConfig) {
    // The configuration a snapshot taken at this index must carry; the reply to RAFT.
    store_->set_snapshot_membership(e.payload);
    scratch_ = ok_reply();
  } else if (e.type == raft::EntryType::kCommand) {
    run_logged(e.payload, e.index);
  }
  if (pending != writes_.end()) {
    if (!ours) {
      for (const ReplyTo& to : pending->second.to) deliver_(to, error_reply(kLostEntry));
    } else if (e.type != raft::EntryType::kBatch) {
      deliver_(pending->second.to.front(), std::move(scratch_));
    }
    writes_.erase(pending);
  }
  scratch_.clear();
}

void RaftHost::apply_batch(const raft::Entry& e, const std::vector<ReplyTo>* replies) {
  if (Status s = coding::split_batch(e.payload, &batch_commands_); !s.ok()) {
    // Every member holds the same entry: skipping it keeps them identical.
    log::error("raft: committed entry {} is not a valid batch ({}); skipped", e.index, s.message());
    if (replies) {
      for (const ReplyTo& to : *replies) deliver_(to, error_reply("ERR the write's log entry was unreadable; not applied"));
    }
    return;
  }
  auto key_of = [this](size_t i) { return coding::argv_at(batch_commands_[i], 1); };
  const size_t n = batch_commands_.size();
  for (size_t i = 0; i < n; ++i) {
    prefetch_ahead(store_->keys(), i, n, key_of);
    run_logged(batch_commands_[i], e.index);
    if (replies && i < replies->size()) deliver_((*replies)[i], std::move(scratch_));
    scratch_.clear();
  }
}

void RaftHost::run_logged(std::string_view command, raft::Index index) {
  scratch_.clear();
  Status s = coding::decode_argv(command, &argv_);
  const CommandSpec* spec = s.ok() ? CommandTable::instance().find_logged_write(argv_) : nullptr;
  if (spec == nullptr) {
    // Every member holds the same entry: skipping it keeps them identical.
    log::error("raft: committed entry {} holds no valid write command; skipped", index);
    scratch_ = error_reply("ERR the logged command was not a valid write; not applied");
    return;
  }
  CommandContext ctx{argv_, &scratch_, &store_->keys()};
  spec->handler(ctx);
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

void RaftHost::settle_transfers() {
  for (auto it = transfers_.begin(); it != transfers_.end();) {
    // Given up: the core stopped the transfer while we still lead, or it is taking too long.
    const bool failed = (soft_.role == raft::Role::kLeader && node_->transfer_target() != it->target) ||
                        Clock::now() - it->since > kTransferTimeout;
    if (soft_.leader == it->target) {
      log::info("raft: node {} leads now (term {})", it->target, soft_.term);
      deliver_(it->to, ok_reply());
    } else if (failed) {
      deliver_(it->to, error_reply(fmt::format("TRYAGAIN node {} did not take over leadership in time", it->target)));
    } else {
      ++it;
      continue;
    }
    it = transfers_.erase(it);
  }
}

void RaftHost::prepare_shutdown(std::function<void()> done) {
  propose_batch();
  shutdown_done_ = std::move(done);
  shutdown_deadline_ = Clock::now() + std::chrono::seconds(3);
  if (node_->role() != raft::Role::kLeader) return;
  raft::NodeId successor = best_successor();
  if (successor != raft::kNoNode && node_->transfer_leadership(successor)) {
    log::info("raft: stopping; handing leadership to node {} first", successor);
  }
}

raft::NodeId RaftHost::best_successor() const {
  raft::NodeId successor = raft::kNoNode;
  raft::Index best = 0;
  for (const raft::PeerStatus& p : node_->peers()) {
    if (p.learner || !p.recently_active || !membership_.is_voter(p.id)) continue;
    if (successor == raft::kNoNode || p.match > best) {
      successor = p.id;
      best = p.match;
    }
  }
  return successor;
}

void RaftHost::check_shutdown() {
  if (!shutdown_done_) return;
  bool busy = node_->role() == raft::Role::kLeader && node_->transfer_target() != raft::kNoNode;
  busy = busy || !writes_.empty() || !reads_.empty() || !parked_.empty() || !transfers_.empty();
  for (const auto& [id, link] : links_) busy = busy || link->busy();
  if (busy && Clock::now() < shutdown_deadline_) return;
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  done();
}

void RaftHost::tick_housekeeping() {
  settle_transfers();
  prune_links();
  const auto deadline = Clock::now() - kRequestTimeout;
  for (auto it = writes_.begin(); it != writes_.end();) {
    if (it->second.since < deadline) {
      for (const ReplyTo& to : it->second.to) deliver_(to, error_reply(kWriteTimeout));
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
  std::optional<PeerAddress> addr = address_of(node_->leader());
  return addr ? addr->addr() : "";
}

const char* RaftHost::shown_role() const {
  const raft::Role role = node_->role();
  if (role == raft::Role::kFollower) {
    if (membership_.empty()) return "joining";  // --join, not added yet
    if (membership_.is_learner(config_.node_id)) return "learner";
    if (!membership_.contains(config_.node_id)) return "removed";
  }
  // Pre-candidates are candidates to the outside world (INFO, kvcluster status).
  return role == raft::Role::kPreCandidate ? "candidate" : raft::role_name(role);
}

std::string RaftHost::info_fields() const {
  std::string s;
  auto field = [&](std::string_view name, const auto& value) { s += fmt::format("{}:{}\r\n", name, value); };
  field("role", shown_role());
  field("node_id", config_.node_id);
  field("term", node_->term());
  field("leader_id", node_->leader());
  field("leader_addr", leader_addr());
  field("commit_index", node_->commit_index());
  field("applied_index", applied_);
  field("last_index", node_->log().last_index());
  field("snapshot_index", node_->log().snapshot().last_index);
  field("members", membership_.voters.size() + membership_.learners.size());
  field("voters", ids_text(membership_.voters));
  field("learners", ids_text(membership_.learners));
  field("config_pending", node_->membership_pending() ? 1 : 0);
  std::map<uint64_t, raft::PeerStatus> progress;
  for (const raft::PeerStatus& p : node_->peers()) progress[p.id] = p;
  const bool leading = node_->role() == raft::Role::kLeader;
  std::vector<raft::NodeId> others = membership_.voters;
  others.insert(others.end(), membership_.learners.begin(), membership_.learners.end());
  std::sort(others.begin(), others.end());
  for (raft::NodeId id : others) {
    if (id == config_.node_id) continue;
    std::optional<PeerAddress> addr = address_of(id);
    auto it = links_.find(id);
    const char* link = it != links_.end() && it->second->connected() ? "up" : "down";
    const char* role = membership_.is_learner(id) ? "learner" : "voter";
    const std::string shown_addr = addr ? addr->addr() : "";
    if (auto p = progress.find(id); leading && p != progress.end()) {
      const raft::Index last = node_->log().last_index();
      const raft::Index match = p->second.match;
      // active: heard from within the last election timeout or two (what quorum checks use).
      field(fmt::format("peer_{}", id),
            fmt::format("addr={},match={},lag={},link={},role={},active={}", shown_addr, match,
                        last - std::min(last, match), link, role, p->second.recently_active ? 1 : 0));
    } else {
      field(fmt::format("peer_{}", id), fmt::format("addr={},link={},role={}", shown_addr, link, role));
    }
  }
  return s;
}

}  // namespace kv::server
