// Vocabulary of the Raft core: node ids, terms, log indexes, entries, the persistent hard
// state and snapshot metadata. Plain value types with no behaviour; safe to copy anywhere.
// See raft_node.h for how they travel between the core and its host.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace kv::raft {

using NodeId = uint64_t;
using Term = uint64_t;
using Index = uint64_t;

// Node ids start at 1; 0 means "nobody" (no vote cast, no leader known).
inline constexpr NodeId kNoNode = 0;

enum class EntryType : uint8_t {
  kCommand = 0,  // opaque client payload for the state machine
  kNoOp = 1,     // appended by every new leader so it can commit entries of its own term
  kConfig = 2,   // reserved for membership changes; not produced yet
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

// The last entry a snapshot covers. {0, 0} means "no snapshot": the log starts at 1.
struct SnapshotMeta {
  Index last_index = 0;
  Term last_term = 0;

  bool operator==(const SnapshotMeta&) const = default;
};

// Snapshot bytes are produced by the host's state machine and only passed through here.
using SnapshotData = std::shared_ptr<const std::string>;

}  // namespace kv::raft
