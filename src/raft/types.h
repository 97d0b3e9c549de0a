// Vocabulary of the Raft core: node ids, terms, log indexes, entries, the persistent hard
// state, cluster membership and snapshot metadata. Plain value types; safe to copy anywhere.
// See raft_node.h for how they travel between the core and its host.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kv::raft {

using NodeId = uint64_t;
using Term = uint64_t;
using Index = uint64_t;

// Node ids start at 1; 0 means "nobody" (no vote cast, no leader known).
inline constexpr NodeId kNoNode = 0;

enum class EntryType : uint8_t {
  kCommand = 0,  // opaque client payload for the state machine
  kNoOp = 1,     // appended by every new leader so it can commit entries of its own term
  kConfig = 2,   // a membership change: the payload is the whole new Membership
                 // (membership.h); it takes effect when appended, not when committed
  kBatch = 3,    // opaque like kCommand: several client commands the host packed together
};

// One log entry. (index, term) identifies an entry and, by the log matching property,
// the whole log prefix before it.
struct Entry {
  Index index = 0;
  Term term = 0;
  EntryType type = EntryType::kCommand;
  std::string payload;

  bool operator==(const Entry&) const = default;
};

// What must be durable before this node sends any message that depends on it.
struct HardState {
  Term term = 0;               // only grows
  NodeId voted_for = kNoNode;  // the candidate voted for in `term`, or kNoNode

  bool operator==(const HardState&) const = default;
};

// A cluster configuration. Voters elect leaders and count toward commit; learners only
// receive the log (and snapshots) and never campaign. Invariant: both lists sorted, no
// duplicates, no id in both, no kNoNode. Both empty means "unknown" (a node that waits to
// be added to a cluster, or a snapshot written before membership changes existed).
struct Membership {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  // Where members added by a change listen ("host:port"), for the host's peer links; the
  // core only carries it. Keys are members; members of the first configuration (which the
  // host knows from its own flags) usually have none.
  std::map<NodeId, std::string> addresses{};

  bool is_voter(NodeId id) const { return std::binary_search(voters.begin(), voters.end(), id); }
  bool is_learner(NodeId id) const {
    return std::binary_search(learners.begin(), learners.end(), id);
  }
  bool contains(NodeId id) const { return is_voter(id) || is_learner(id); }
  bool empty() const { return voters.empty() && learners.empty(); }
  // Votes (or acknowledgements) needed for a majority of the voters.
  size_t quorum() const { return voters.size() / 2 + 1; }

  bool operator==(const Membership&) const = default;
};

// The last entry a snapshot covers. {0, 0} means "no snapshot": the log starts at 1.
struct SnapshotMeta {
  Index last_index = 0;
  Term last_term = 0;
  // The configuration in effect at last_index: what a node installing the snapshot learns
  // the membership from. The core always fills it in for snapshots it makes or sends.
  Membership membership{};

  bool operator==(const SnapshotMeta&) const = default;
};

// Why the core did not accept a submission (propose, read_index, propose_config).
enum class Refusal : uint8_t {
  kNone = 0,         // accepted
  kNotLeader,        // only the leader takes submissions; Submission::leader names it
  kTransferring,     // the leader is handing leadership over: retry at the new leader
  kLeaderNotReady,   // a new leader commits an entry of its term before changing membership
  kChangePending,    // the last membership change is not committed yet
  kInvalidNode,      // node id 0
  kAlreadyMember,    // add: already a voter or learner; promote: already a voter
  kNotMember,        // promote/remove: not in the configuration; promote: not a learner
  kLearnerBehind,    // promote: the learner's log lags the leader's by more than allowed
  kWouldLoseQuorum,  // the new voters the leader hears from would not be a majority
};

// Snapshot bytes are produced by the host's state machine and only passed through here.
using SnapshotData = std::shared_ptr<const std::string>;

}  // namespace kv::raft
