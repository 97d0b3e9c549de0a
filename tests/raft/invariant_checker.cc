#include "raft/invariant_checker.h"

#include <fmt/core.h>

#include <functional>

namespace kv::raft::testing {

void InvariantChecker::fail(std::string what) {
  if (failure_.empty()) failure_ = std::move(what);
}

void InvariantChecker::on_entries(NodeId node, const RaftLog& log,
                                  const std::vector<Entry>& entries) {
  for (const Entry& entry : entries) {
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
