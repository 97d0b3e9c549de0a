#include "raft/invariant_checker.h"

#include <fmt/core.h>

#include <algorithm>
#include <functional>
#include <iterator>

#include "raft/membership.h"

namespace kv::raft::testing {

void InvariantChecker::fail(std::string what) {
  if (failure_.empty()) failure_ = std::move(what);
}

void InvariantChecker::on_entries(NodeId node, const RaftLog& log,
                                  const std::vector<Entry>& entries) {
  for (const Entry& entry : entries) {
    if (entry.type == EntryType::kConfig && entry.index > log.snapshot().last_index) {
      const Membership& before = log.membership_at(entry.index - 1);
      const Membership& after = log.membership_at(entry.index);
      std::vector<NodeId> changed;
      std::set_symmetric_difference(before.voters.begin(), before.voters.end(),
                                    after.voters.begin(), after.voters.end(),
                                    std::back_inserter(changed));
      // (A node that joined with no configuration knows none before its first entry.)
      if (!before.empty() && changed.size() > 1) {
        fail(fmt::format("node {} config entry {}/{} changes {} voters: {} -> {}", node,
                         entry.index, entry.term, changed.size(), describe(before),
                         describe(after)));
      }
    }
    std::optional<Term> prev = log.term_at(entry.index - 1);
    Position here{prev.value_or(0), std::hash<std::string>{}(entry.payload), entry.type};
    auto [it, inserted] = positions_.try_emplace({entry.index, entry.term}, here);
    if (inserted) continue;
    const Position& seen = it->second;
    if (seen.payload_hash != here.payload_hash || seen.type != here.type) {
      fail(fmt::format("log matching: node {} has a different entry at {}/{}", node, entry.index,
                       entry.term));
    } else if (prev && seen.prev_term != 0 && seen.prev_term != *prev) {
      fail(fmt::format("log matching: node {} entry {}/{} follows term {}, elsewhere {}", node,
                       entry.index, entry.term, *prev, seen.prev_term));
    }
  }
}

void InvariantChecker::on_commit(NodeId node, Term term, const RaftLog& log, Index from, Index to) {
  if (to < from) {
    fail(fmt::format("node {} commit index went back from {} to {}", node, from, to));
    return;
  }
  if (to > max_commit_) max_commit_ = to;
  for (Index i = std::max(from + 1, log.first_index()); i <= to; ++i) {
    if (i > log.last_index()) {
      fail(fmt::format("node {} committed {} beyond its log ({})", node, i, log.last_index()));
      return;
    }
    const Entry& entry = log.at(i);
    auto [it, inserted] = committed_.try_emplace(i, Committed{entry, term});
    if (inserted) continue;
    if (it->second.entry != entry) {
      fail(fmt::format("committed entry {} changed: term {} then term {} (node {})", i,
                       it->second.entry.term, entry.term, node));
    }
    it->second.known_by_term = std::min(it->second.known_by_term, term);
  }
}

void InvariantChecker::on_apply(NodeId node, Index previous_applied, const Entry& entry) {
  if (entry.index != previous_applied + 1) {
    fail(fmt::format("node {} applied {} after {}", node, entry.index, previous_applied));
    return;
  }
  auto it = committed_.find(entry.index);
  if (it == committed_.end()) {
    fail(fmt::format("node {} applied {} which nobody reported committed", node, entry.index));
  } else if (it->second.entry != entry) {
    fail(fmt::format("node {} applied {}/{} but {}/{} was committed", node, entry.index, entry.term,
                     entry.index, it->second.entry.term));
  }
}

void InvariantChecker::on_snapshot_state(NodeId node, Index last_index,
                                         const AppliedCommands& state) {
  auto it = committed_.begin();
  for (const auto& [index, payload] : state) {
    // Every command up to last_index that is known committed must be in the state.
    for (; it != committed_.end() && it->first < index; ++it) {
      if (it->second.entry.type == EntryType::kCommand) {
        fail(fmt::format("node {} snapshot lacks committed command {}", node, it->first));
        return;
      }
    }
    if (it == committed_.end() || it->first != index) continue;  // not reported committed
    if (it->second.entry.payload != payload) {
      fail(fmt::format("node {} snapshot has a different command at {}", node, index));
      return;
    }
    ++it;
  }
  for (; it != committed_.end() && it->first <= last_index; ++it) {
    if (it->second.entry.type == EntryType::kCommand) {
      fail(fmt::format("node {} snapshot at {} lacks command {}", node, last_index, it->first));
      return;
    }
  }
}

void InvariantChecker::on_leader(NodeId node, Term term, const RaftLog& log) {
  auto [it, inserted] = leaders_.try_emplace(term, node);
  if (!inserted && it->second != node) {
    fail(fmt::format("two leaders in term {}: {} and {}", term, it->second, node));
    return;
  }
  int uncommitted_configs = 0;
  for (Index i = std::max(max_commit_ + 1, log.first_index()); i <= log.last_index(); ++i) {
    if (log.at(i).type == EntryType::kConfig) ++uncommitted_configs;
  }
  if (uncommitted_configs > 1) {
    fail(fmt::format("leader {} of term {} has {} config entries beyond commit {}", node, term,
                     uncommitted_configs, max_commit_));
    return;
  }
  if (!inserted) return;  // checked when it was elected
  for (auto c = committed_.lower_bound(log.snapshot().last_index); c != committed_.end(); ++c) {
    // Only entries whose commit happened before this term are promised to this leader.
    if (c->second.known_by_term >= term) continue;
    if (log.term_at(c->first) != c->second.entry.term) {
      fail(fmt::format("leader completeness: leader {} of term {} lacks committed {}/{}", node,
                       term, c->first, c->second.entry.term));
      return;
    }
  }
}

void InvariantChecker::on_membership(NodeId node, const RaftNode& raft, bool full) {
  const Membership& membership = raft.membership();
  Role role = raft.role();
  if ((role == Role::kPreCandidate || role == Role::kCandidate) && !membership.is_voter(node)) {
    fail(fmt::format("node {} is a {} but not a voter ({})", node, role_name(role),
                     describe(membership)));
    return;
  }
  if (role == Role::kLeader && !membership.is_voter(node) && !raft.membership_pending()) {
    fail(fmt::format("node {} still leads after its removal committed", node));
    return;
  }
  if (!full) return;
  const RaftLog& log = raft.log();
  Membership expected = log.snapshot().membership;
  for (Index i = log.last_index(); i >= log.first_index(); --i) {
    if (log.at(i).type != EntryType::kConfig) continue;
    expected = Membership{};
    if (!decode_membership(log.at(i).payload, &expected).ok()) {
      fail(fmt::format("node {} holds an undecodable config entry at {}", node, i));
      return;
    }
    break;
  }
  if (expected != membership) {
    fail(fmt::format("node {} uses configuration {} but its log says {}", node,
                     describe(membership), describe(expected)));
  }
}

void InvariantChecker::on_send(NodeId node, const HardState& stored, const Message& message) {
  Term term = message.term;
  // PreVote traffic carries the term the candidate would move to, not one it holds.
  if (auto* request = std::get_if<VoteRequest>(&message.body); request && request->pre_vote) {
    --term;
  }
  if (auto* response = std::get_if<VoteResponse>(&message.body);
      response && response->pre_vote && response->granted) {
    term = std::min(term, stored.term);
  }
  // Older terms are harmless (the Ready may hold messages from before a term change).
  if (term > stored.term) {
    fail(fmt::format("node {} sent term {} with term {} durable: {}", node, message.term,
                     stored.term, describe(message)));
    return;
  }
  if (auto* response = std::get_if<VoteResponse>(&message.body);
      response && !response->pre_vote && response->granted && term == stored.term &&
      stored.voted_for != message.to) {
    fail(fmt::format("node {} granted its vote to {} with vote {} durable", node, message.to,
                     stored.voted_for));
  }
}

void InvariantChecker::on_read(NodeId node, Index read_index, Index required) {
  if (read_index < required) {
    fail(fmt::format("stale read: node {} answered at index {} but {} was committed before", node,
                     read_index, required));
  }
}

}  // namespace kv::raft::testing
