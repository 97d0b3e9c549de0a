// Ready: everything the core asks its host to do after an input, drained with
// RaftNode::take_ready(). The host must act on the fields in the order they are declared:
// the order is what keeps a crash at any point safe (see each field).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "raft/message.h"
#include "raft/types.h"

namespace kv::raft {

enum class Role { kFollower, kPreCandidate, kCandidate, kLeader };
const char* role_name(Role role);

// Volatile state worth showing (INFO, status); reported when it changes.
struct SoftState {
  Role role = Role::kFollower;
  NodeId leader = kNoNode;
  Term term = 0;

  bool operator==(const SoftState&) const = default;
};

// A snapshot received from the leader, to install in place of the state machine and log.
struct SnapshotInstall {
  SnapshotMeta meta;
  SnapshotData data;
};

// A confirmed linearizable read: serve it once the state machine applied `index`.
struct ReadState {
  uint64_t request_id = 0;
  Index index = 0;
};

struct Ready {
  // 1. Persist and fsync before sending any message in this Ready: votes and term bumps
  //    must survive a crash once somebody may have seen a message that relies on them.
  std::optional<HardState> hard_state;

  // 2. Before sending any message (the acknowledgement is among them) and durably: replace
  //    the state machine with the snapshot, and the stored log with an empty one that
  //    continues after meta.last_index. Writes still pending from earlier Readys are void.
  //    Atomic (temp file, fsync, rename): a crash must leave the old or the new state.
  std::optional<SnapshotInstall> install_snapshot;

  // 3. Log writes: drop stored entries with index >= truncate_from (a follower's suffix
  //    that conflicts with the leader), then append `entries`. These may be written and
  //    fsynced asynchronously; call persisted() when they are durable, in order.
  std::optional<Index> truncate_from;
  std::vector<Entry> entries;

  // 3b. The configuration changed since the last Ready (a config entry was appended or
  //     truncated away, or a snapshot installed): before sending, open links to new members,
  //     as messages may be addressed to them. A leader still sends to a member it is
  //     removing until the removal commits. The core uses the new configuration at once;
  //     the host's copy is for links and INFO only.
  std::optional<Membership> membership;

  // 4. Send, once hard_state is durable. They never depend on `entries` being durable.
  std::vector<Message> messages;

  // 5. Apply in order; each committed entry is reported exactly once (per process life)
  //    and only after it was reported persisted. Then call applied().
  std::vector<Entry> committed_entries;

  // 6. Linearizable reads confirmed (serve after applying read.index) or dropped because
  //    this node stopped leading (retry elsewhere).
  std::vector<ReadState> read_states;
  std::vector<uint64_t> dropped_reads;

  // Role, leader or term changed since the last Ready.
  std::optional<SoftState> soft_state;
  // The current commit index (for INFO; the host may store it with its next log write).
  Index commit_index = 0;

  bool empty() const {
    return !hard_state && !install_snapshot && !truncate_from && entries.empty() && !membership &&
           messages.empty() && committed_entries.empty() && read_states.empty() &&
           dropped_reads.empty() && !soft_state;
  }
};

}  // namespace kv::raft
