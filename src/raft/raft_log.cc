#include "raft/raft_log.h"

#include <algorithm>
#include <utility>

#include "common/check.h"
#include "raft/membership.h"

namespace kv::raft {

RaftLog::RaftLog(SnapshotMeta snapshot, std::vector<Entry> entries) : snapshot_(snapshot) {
  for (Entry& entry : entries) append(std::move(entry));
}

Term RaftLog::last_term() const {
  return entries_.empty() ? snapshot_.last_term : entries_.back().term;
}

std::optional<Term> RaftLog::term_at(Index index) const {
  if (index == snapshot_.last_index) return snapshot_.last_term;
  if (index < first_index() || index > last_index()) return std::nullopt;
  return at(index).term;
}

const Entry& RaftLog::at(Index index) const {
  KV_CHECK(index >= first_index() && index <= last_index());
  return entries_[index - first_index()];
}

std::vector<Entry> RaftLog::slice(Index from, size_t max_count, size_t max_bytes) const {
  KV_CHECK(from >= first_index());
  std::vector<Entry> out;
  if (from <= last_index()) out.reserve(std::min<size_t>(max_count, last_index() - from + 1));
  size_t bytes = 0;
  for (Index i = from; i <= last_index() && out.size() < max_count; ++i) {
    const Entry& entry = at(i);
    bytes += entry.payload.size();
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(entry);
  }
  return out;
}

bool RaftLog::is_up_to_date(Index index, Term term) const {
  return term > last_term() || (term == last_term() && index >= last_index());
}

Index RaftLog::first_index_of_term_run(Index index, Index floor) const {
  std::optional<Term> term = term_at(index);
  KV_CHECK(term.has_value());
  if (floor < first_index()) floor = first_index();
  while (index > floor && term_at(index - 1) == term) --index;
  return index;
}

std::optional<Index> RaftLog::last_index_of_term(Term term, Index at_most) const {
  Index index = std::min(at_most, last_index());
  while (index >= first_index()) {
    Term here = at(index).term;
    if (here == term) return index;
    if (here < term) return std::nullopt;  // terms only grow along the log
    --index;
  }
  if (index == snapshot_.last_index && snapshot_.last_term == term) return index;
  return std::nullopt;
}

const Membership& RaftLog::membership_at(Index index) const {
  KV_CHECK(index >= snapshot_.last_index);
  for (auto it = configs_.rbegin(); it != configs_.rend(); ++it) {
    if (it->first <= index) return it->second;
  }
  return snapshot_.membership;
}

void RaftLog::append(Entry entry) {
  KV_CHECK(entry.index == last_index() + 1);
  KV_CHECK(entry.term >= last_term());
  if (entry.type == EntryType::kConfig) {
    Membership membership;
    KV_CHECK(decode_membership(entry.payload, &membership).ok());
    configs_.emplace_back(entry.index, std::move(membership));
  }
  entries_.push_back(std::move(entry));
}

void RaftLog::truncate_from(Index index) {
  KV_CHECK(index > snapshot_.last_index);
  while (!entries_.empty() && entries_.back().index >= index) entries_.pop_back();
  while (!configs_.empty() && configs_.back().first >= index) configs_.pop_back();
}

void RaftLog::apply_snapshot(SnapshotMeta snapshot) {
  KV_CHECK(snapshot.last_index >= snapshot_.last_index);
  if (matches(snapshot.last_index, snapshot.last_term)) {
    while (!entries_.empty() && entries_.front().index <= snapshot.last_index) {
      entries_.pop_front();
    }
    auto first_kept = std::find_if(configs_.begin(), configs_.end(),
                                   [&](const auto& c) { return c.first > snapshot.last_index; });
    configs_.erase(configs_.begin(), first_kept);
  } else {
    entries_.clear();
    configs_.clear();
  }
  snapshot_ = std::move(snapshot);
}

}  // namespace kv::raft
