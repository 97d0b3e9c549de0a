// RaftLog: the core's in-memory view of the replicated log — the metadata of the snapshot
// that replaced the log's prefix, then every entry after it — and the cluster configuration
// the log implies (the last config entry's, else the snapshot's): it changes the moment a
// config entry is appended and reverts when that entry is truncated away. The host keeps the
// durable copy; this class holds no durability state (RaftNode tracks that). Not thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "raft/types.h"

namespace kv::raft {

class RaftLog {
 public:
  // REQUIRES: entries are consecutive and start at snapshot.last_index + 1; every config
  // entry's payload decodes (decode_membership).
  RaftLog(SnapshotMeta snapshot, std::vector<Entry> entries);

  const SnapshotMeta& snapshot() const { return snapshot_; }
  Index first_index() const { return snapshot_.last_index + 1; }
  Index last_index() const { return snapshot_.last_index + entries_.size(); }
  Term last_term() const;

  // The term of the entry at `index`; the snapshot's term at its last index; nullopt
  // when `index` is compacted away (below the snapshot) or beyond the last entry.
  std::optional<Term> term_at(Index index) const;
  bool matches(Index index, Term term) const { return term_at(index) == term; }

  // REQUIRES: first_index() <= index <= last_index().
  const Entry& at(Index index) const;

  // Entries [from, last_index()], at most max_count of them and — beyond the first, which
  // is always included — at most max_bytes of payload. REQUIRES: from >= first_index().
  std::vector<Entry> slice(Index from, size_t max_count, size_t max_bytes) const;

  // Whether a candidate whose log ends at (last_index, last_term) is at least as
  // up-to-date as this log (Raft paper 5.4.1): later last term wins, then longer log.
  bool is_up_to_date(Index last_index, Term last_term) const;

  // The first index of the run of entries sharing the term of the entry at `index`,
  // looking no further back than `floor`. REQUIRES: term_at(index) is known.
  Index first_index_of_term_run(Index index, Index floor) const;

  // The highest index <= `at_most` holding term `term`, if the log still has one.
  std::optional<Index> last_index_of_term(Term term, Index at_most) const;

  // The configuration after the last entry, and the index of the config entry that set it
  // (snapshot().last_index when no config entry follows the snapshot).
  const Membership& membership() const {
    return configs_.empty() ? snapshot_.membership : configs_.back().second;
  }
  Index membership_index() const {
    return configs_.empty() ? snapshot_.last_index : configs_.back().first;
  }
  // The configuration in effect at `index` (set by the last config entry at or before it).
  // REQUIRES: snapshot().last_index <= index.
  const Membership& membership_at(Index index) const;

  // REQUIRES: entry.index == last_index() + 1; a config entry's payload decodes.
  void append(Entry entry);
  // Drops entries with index >= `index`. REQUIRES: index > snapshot().last_index.
  void truncate_from(Index index);
  // Replaces the prefix through snapshot.last_index by the snapshot. Entries after it are
  // kept when the log holds the snapshot's last entry; otherwise the whole log is dropped.
  // snapshot.membership must be the configuration at its last index.
  void apply_snapshot(SnapshotMeta snapshot);

 private:
  SnapshotMeta snapshot_;
  // Invariant: entries_[k].index == snapshot_.last_index + 1 + k, and terms never decrease.
  std::deque<Entry> entries_;
  // The decoded config entries among entries_, by ascending index.
  std::vector<std::pair<Index, Membership>> configs_;
};

}  // namespace kv::raft
