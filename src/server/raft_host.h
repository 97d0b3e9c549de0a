// RaftHost: runs the deterministic Raft core (raft/raft_node.h) inside a kvstore node. It is
// the core's "host": it turns ticks of the event loop, peer messages (KVRAFT) and client
// commands into inputs, and acts on each Ready in the order the core demands:
//   1. term/vote -> data_dir/raft_state, fsynced           (before any message leaves)
//   2. a snapshot from the leader -> key space, snapshot.bin, empty log
//   3. log truncation and new entries -> wal.bin (buffered)
//   4. messages -> peer links, written at once, so followers fsync while we do
//   5. committed entries -> applied through the command table; replies released
//   6. confirmed reads -> served once applied
// then one write + fdatasync of the log covers every entry of the round (group commit), is
// reported with persisted(), and the loop repeats until the core has nothing more to say.
//
// Client commands: the leader proposes writes (the reply is the output of applying the
// entry, so it is sent only once a majority has it durably) and serves reads through
// ReadIndex; a follower forwards both to the leader over its PeerLink and relays the reply.
// A command that finds no leader (an election, a leadership transfer) waits up to two
// election timeouts for one instead of failing at once; it was not applied anywhere yet.
//
// Membership (RAFT ADDLEARNER/PROMOTE/REMOVE/TRANSFER, from operators who sent AUTH with the
// cluster secret): the leader turns them into config entries (the reply comes once the entry
// commits) or a leadership transfer. Peer links follow the configuration: a member added
// with an address gets a link, a removed one loses it. --peers only seeds the addresses of
// the first configuration.
// Single-threaded: everything runs on the event loop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/event_loop.h"
#include "raft/raft_node.h"
#include "server/command_table.h"
#include "server/config.h"
#include "server/peer_link.h"
#include "server/store.h"

namespace kv::server {

// Where a deferred reply goes: a connection (by fd, and id against fd reuse) and the
// position of the reply among that connection's replies.
struct ReplyTo {
  int fd = -1;
  uint64_t conn_id = 0;
  uint64_t seq = 0;
};

class RaftHost {
 public:
  // Hands a finished reply (RESP bytes) to the server, which sends it in order.
  using Deliver = std::function<void(const ReplyTo& to, std::string reply)>;

  RaftHost(const ServerConfig& config, net::EventLoop* loop, Store* store, Deliver deliver);
  ~RaftHost();

  // Called right before each fsync of the log when replies were delivered in that round:
  // they depend on entries already committed (durable on a majority), not on this fsync,
  // so they should not wait for it.
  void set_flush_replies(std::function<void()> flush) { flush_replies_ = std::move(flush); }

  // A graceful stop: a leader hands leadership to its most up-to-date voter first, then
  // `done` runs once no request of this node is in flight (or after a few seconds anyway).
  // Requests keep being served meanwhile (forwarded to the new leader).
  void prepare_shutdown(std::function<void()> done);

  // Builds the core from what the store recovered (raft_state, snapshot, log) and starts
  // ticking. Errors: Corruption/IOError from raft_state or the snapshot.
  Status start();

  // A data command (the spec has kWrite or kReadOnly). from_peer: it came from another
  // member's forwarding link, so it must not be forwarded again. *conn_write_index is the
  // connection's last proposed write: a read waits until it is applied (read your writes).
  void submit(const CommandSpec& spec, const std::vector<std::string>& args, ReplyTo to,
              bool from_peer, uint64_t* conn_write_index);
  // RAFT <subcommand> ... from an authenticated operator or a peer's forwarding link. The
  // reply (+OK, or an error naming why) is delivered to `to`.
  void submit_admin(const std::vector<std::string>& args, ReplyTo to, bool from_peer);
  // The payload of a KVRAFT command from an authenticated peer.
  void receive(std::string_view encoded_message);
  // The server's pre-sleep hook: drive the core until it is quiet, sync, flush peer links.
  void before_sleep();
  // Every ~100 ms: snapshot compaction and time-outs of requests that cannot finish.
  void tick_housekeeping();

  // A node that may talk to us as a peer: named by --peers or in the configuration.
  bool is_member(uint64_t id) const {
    return config_.member(id) != nullptr || membership_.contains(id);
  }
  const std::string& secret() const { return config_.cluster_secret; }
  // The INFO "# Raft" fields, as "name:value\r\n" lines.
  std::string info_fields() const;

 private:
  struct PendingWrite {
    raft::Term term = 0;
    std::vector<ReplyTo> to;  // a batch: one per command, in order; else one
    std::chrono::steady_clock::time_point since;
  };
  struct PendingRead {
    const CommandSpec* spec = nullptr;
    std::vector<std::string> args;
    ReplyTo to;
    raft::Index min_index = 0;   // the connection's last write: read your own writes
    raft::Index read_index = 0;  // set once leadership is confirmed
    bool confirmed = false;
    std::chrono::steady_clock::time_point since;
  };

  // A client command that could not be placed yet (no leader known, leadership moving):
  // retried every tick while it is younger than park_limit_, then failed.
  struct Parked {
    const CommandSpec* spec = nullptr;  // null: a RAFT admin command
    std::vector<std::string> args;
    ReplyTo to;
    bool from_peer = false;
    std::chrono::steady_clock::time_point since;
  };
  struct PendingTransfer {
    raft::NodeId target = raft::kNoNode;
    ReplyTo to;
    std::chrono::steady_clock::time_point since;
  };

  void arm_tick();
  // Acts on Readies until the core is quiet (or 16 of them): log writes buffered, messages
  // sent, committed entries applied. Syncing the log is before_sleep's.
  void pump();
  void handle(raft::Ready& ready);
  // Applies to_apply_ in order and reports it to the core and the store.
  void apply_committed();
  void apply(const raft::Entry& entry);
  void serve_reads();
  void dispatch(Parked request, uint64_t* conn_write_index);
  // Leader: adds a client write to the batch (see batch_); once accepted, its reply is owed
  // to `to` when applied. Refused as RaftNode::propose would refuse it.
  raft::Submission propose_write(const std::vector<std::string>& args, const ReplyTo& to,
                                 uint64_t* conn_write_index);
  // Proposes the batch, if any, as one kBatch entry. Called before anything else can reach
  // the core (the loop's sleep, a peer message, a tick, a read, a RAFT command, a stop), so
  // the batch takes exactly the index propose_write announced.
  void propose_batch();
  // Applies a kBatch entry's commands in order; with replies (the entry is ours), each
  // command's reply goes to its client as soon as it is applied.
  void apply_batch(const raft::Entry& e, const std::vector<ReplyTo>* replies);
  // Runs one logged write (an argv payload) against the key space; scratch_ gets the reply,
  // an error when it holds no valid write command (skipped: every member holds the same
  // entry, so skipping it keeps them identical).
  void run_logged(std::string_view command, raft::Index index);
  // A write or read the core would not take now: parked while leadership moves, else
  // -CLUSTERDOWN.
  void refused(raft::Refusal refusal, Parked request);
  void dispatch_admin(Parked request);
  void forward(Parked request, bool is_write);
  void park(Parked request);
  void retry_parked();
  void send(const raft::Message& message);
  void maybe_compact();
  // Peer links follow the configuration.
  void on_membership(raft::Membership membership);
  void prune_links();
  std::optional<PeerAddress> address_of(raft::NodeId id) const;
  PeerLink* link(raft::NodeId id);  // created on first use; null if the address is unknown
  void settle_transfers();
  void check_shutdown();
  // Leader: the active voter with the longest log, to hand leadership to; kNoNode if none.
  raft::NodeId best_successor() const;
  std::string leader_addr() const;
  const char* shown_role() const;

  ServerConfig config_;
  net::EventLoop* loop_;
  Store* store_;
  Deliver deliver_;
  std::function<void()> flush_replies_;
  bool replies_released_ = false;  // since the last sync: see set_flush_replies
  // Committed entries not applied yet: a follower applies after its fsync and acknowledgement.
  std::vector<raft::Entry> to_apply_;
  // The last entry written to the log buffer and not yet synced (index 0: none).
  raft::Index unsynced_index_ = 0;
  raft::Term unsynced_term_ = 0;
  std::unique_ptr<raft::RaftNode> node_;
  std::map<uint64_t, std::unique_ptr<PeerLink>> links_;  // by peer id
  uint64_t tick_timer_ = 0;
  raft::SoftState soft_;

  std::map<raft::Index, PendingWrite> writes_;  // proposed here, not yet applied
  std::map<uint64_t, PendingRead> reads_;       // by request id
  uint64_t next_read_id_ = 1;
  raft::Index applied_ = 0;
  raft::Term applied_term_ = 0;
  std::string scratch_;  // the reply of an entry nobody here waits for
  std::vector<std::string> argv_;
  // The leader's writes since the last propose_batch(), in arrival order: one log entry
  // (coding batch payload; empty: none) and who gets each reply. Many writes per entry keep
  // the per-entry work (log, messages, fsync records, acknowledgements) off each write.
  std::string batch_;
  raft::Index batch_index_ = 0;  // the index its writes were told (valid while batch_ is not empty)
  std::vector<ReplyTo> batch_to_;
  std::vector<std::string_view> batch_commands_;  // apply_batch's views into an entry

  raft::Membership membership_;  // the core's current configuration, as last reported
  std::vector<Parked> parked_;
  std::chrono::milliseconds park_limit_{0};
  uint64_t parked_write_index_ = 0;  // parked writes do not update their connection's index
  std::vector<PendingTransfer> transfers_;
  std::function<void()> shutdown_done_;  // set while a graceful stop drains
  std::chrono::steady_clock::time_point shutdown_deadline_;
};

}  // namespace kv::server
