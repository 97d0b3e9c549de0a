// InvariantChecker: the safety properties of Raft, checked against everything a simulated
// cluster does (LogCabin's RaftConsensusInvariants, in spirit). The simulation reports each
// event; the first violation is kept as a one-line description. Single-threaded.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "raft/message.h"
#include "raft/raft_log.h"
#include "raft/raft_node.h"
#include "raft/types.h"

namespace kv::raft::testing {

// The state machine of the simulation: the (index, payload) of every command applied.
using AppliedCommands = std::vector<std::pair<Index, std::string>>;

class InvariantChecker {
 public:
  // Log matching: an (index, term) names one entry, with one predecessor term. Called with
  // the entries a node's Ready hands out (every entry of every log passes through one),
  // while `log` still holds them. Also: a config entry changes the voters by at most one
  // server from the configuration before it in that log (when that one is known).
  void on_entries(NodeId node, const RaftLog& log, const std::vector<Entry>& entries);
  // A node's commit index moved from `from` to `to` (in its current life): committed
  // entries never change, and the commit index never shrinks.
  void on_commit(NodeId node, Term term, const RaftLog& log, Index from, Index to);
  // A node applied `entry` right after `previous_applied`: in order, no gaps, and the
  // same entry every node applied (or will) at that index.
  void on_apply(NodeId node, Index previous_applied, const Entry& entry);
  // A node's state machine was replaced by a snapshot's: it must agree with the history.
  void on_snapshot_state(NodeId node, Index last_index, const AppliedCommands& state);
  // A node is leader of `term`: at most one per term, and its log holds every entry known
  // committed in an earlier term (leader completeness). Its log holds at most one config
  // entry beyond what is known committed (one change at a time).
  void on_leader(NodeId node, Term term, const RaftLog& log);
  // After each Ready: only voters of their own configuration campaign; a leader outside its
  // configuration is one whose removal has not committed yet. With `full`: the node's
  // configuration is the one its log implies (its last config entry's, else the snapshot's),
  // i.e. config entries take effect on append and are undone by truncation.
  void on_membership(NodeId node, const RaftNode& raft, bool full);
  // A message leaves `node` whose durable hard state is `stored`: its term and any vote it
  // grants must already be durable (a crash must not let the node contradict it).
  void on_send(NodeId node, const HardState& stored, const Message& message);
  // A ReadIndex answer must cover every write known committed when the read began.
  void on_read(NodeId node, Index read_index, Index required);

  Index max_known_commit() const { return max_commit_; }
  bool failed() const { return !failure_.empty(); }
  const std::string& failure() const { return failure_; }

 private:
  void fail(std::string what);

  struct Position {
    Term prev_term;
    size_t payload_hash;
    EntryType type;
  };
  struct Committed {
    Entry entry;
    Term known_by_term;  // lowest term of a node that reported it committed
  };
  std::map<std::pair<Index, Term>, Position> positions_;
  std::map<Index, Committed> committed_;
  std::map<Term, NodeId> leaders_;
  Index max_commit_ = 0;
  std::string failure_;
};

}  // namespace kv::raft::testing
