#include "raft/raft_log.h"

#include <doctest/doctest.h>

#include "raft/membership.h"
#include "raft/test_cluster.h"

namespace kv::raft::testing {
namespace {

// Terms 1 1 2 2 2 3 at indexes 1..6.
RaftLog sample_log() {
  std::vector<Entry> entries = entries_of_term(1, 2, 1);
  for (Entry& e : entries_of_term(3, 5, 2)) entries.push_back(e);
  entries.push_back({6, 3, EntryType::kNoOp, ""});
  return RaftLog({}, entries);
}

TEST_CASE("RaftLog: indexes and terms") {
  RaftLog log = sample_log();
  CHECK(log.first_index() == 1);
  CHECK(log.last_index() == 6);
  CHECK(log.last_term() == 3);
  CHECK(log.term_at(0) == Term{0});  // the empty snapshot
  CHECK(log.term_at(4) == Term{2});
  CHECK_FALSE(log.term_at(7).has_value());
  CHECK(log.matches(5, 2));
  CHECK_FALSE(log.matches(5, 3));
}

TEST_CASE("RaftLog: up-to-date comparison is by last term, then length") {
  RaftLog log = sample_log();
  CHECK(log.is_up_to_date(6, 3));
  CHECK(log.is_up_to_date(2, 4));  // later term wins even if shorter
  CHECK_FALSE(log.is_up_to_date(5, 3));
  CHECK_FALSE(log.is_up_to_date(100, 2));
}

TEST_CASE("RaftLog: slice honours count and byte limits but always returns one entry") {
  RaftLog log = sample_log();
  CHECK(log.slice(2, 3, 1000).size() == 3);
  CHECK(log.slice(1, 100, 4).size() == 2);  // "e1" "e2" fill 4 bytes
  CHECK(log.slice(1, 100, 0).size() == 1);
  CHECK(log.slice(7, 100, 100).empty());
}

TEST_CASE("RaftLog: term runs for the backtracking hint") {
  RaftLog log = sample_log();
  CHECK(log.first_index_of_term_run(5, 1) == 3);
  CHECK(log.first_index_of_term_run(5, 4) == 4);  // not below the floor
  CHECK(log.last_index_of_term(2, 6) == Index{5});
  CHECK(log.last_index_of_term(2, 4) == Index{4});
  CHECK_FALSE(log.last_index_of_term(4, 6).has_value());
}

TEST_CASE("RaftLog: truncate, and snapshots that keep or drop the suffix") {
  RaftLog log = sample_log();
  log.truncate_from(5);
  CHECK(log.last_index() == 4);
  log.append({5, 4, EntryType::kCommand, "x"});
  CHECK(log.last_term() == 4);

  log.apply_snapshot({3, 2});  // we hold 3/2: keep 4 and 5
  CHECK(log.first_index() == 4);
  CHECK(log.last_index() == 5);
  CHECK(log.term_at(3) == Term{2});
  CHECK_FALSE(log.term_at(2).has_value());

  log.apply_snapshot({9, 5});  // we lack it: the whole log goes
  CHECK(log.first_index() == 10);
  CHECK(log.last_index() == 9);
  CHECK(log.last_term() == 5);
}

TEST_CASE("RaftLog: the configuration follows config entries, truncation and snapshots") {
  auto config = [](Index index, Term term, const Membership& m) {
    std::string payload;
    encode_membership(m, &payload);
    return Entry{index, term, EntryType::kConfig, payload};
  };
  const Membership base{{1, 2, 3}, {}};
  const Membership with_4{{1, 2, 3}, {4}};
  const Membership promoted{{1, 2, 3, 4}, {}};
  std::vector<Entry> entries = entries_of_term(1, 2, 1);
  entries.push_back(config(3, 1, with_4));
  RaftLog log({0, 0, base}, entries);
  CHECK(log.membership() == with_4);
  CHECK(log.membership_index() == 3);
  CHECK(log.membership_at(2) == base);
  CHECK(log.membership_at(3) == with_4);

  log.append({4, 2, EntryType::kCommand, "x"});
  log.append(config(5, 2, promoted));
  CHECK(log.membership() == promoted);  // in effect once appended
  CHECK(log.membership_at(4) == with_4);

  log.truncate_from(5);
  CHECK(log.membership() == with_4);  // reverted
  CHECK(log.membership_index() == 3);
  log.append(config(5, 3, promoted));

  // Compaction folds the configurations it covers into the snapshot.
  log.apply_snapshot({4, 2, log.membership_at(4)});
  CHECK(log.snapshot().membership == with_4);
  CHECK(log.membership() == promoted);
  CHECK(log.membership_at(4) == with_4);
  log.truncate_from(5);
  CHECK(log.membership() == with_4);
  CHECK(log.membership_index() == 4);  // the snapshot's

  // A snapshot that replaces the whole log brings its own configuration.
  log.apply_snapshot({9, 4, promoted});
  CHECK(log.membership() == promoted);
  CHECK(log.membership_index() == 9);
}

}  // namespace
}  // namespace kv::raft::testing
