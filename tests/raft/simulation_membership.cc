// Simulation: the operator who changes the membership while the faults run. It asks whoever
// leads now for one change at random — add a fresh node as a learner, promote a learner,
// remove a learner or a voter, the leader included (directly, or by transferring leadership
// first and having the next leader remove it) — and sometimes for a plain leadership
// transfer. Many requests are refused (a change pending, a learner behind, a leader not
// ready): that is exercised too. Nodes whose removal committed are stopped some time later;
// until then they keep running and must not disturb the cluster.

#include <fmt/core.h>

#include "raft/simulation.h"

namespace kv::raft::testing {

void Simulation::membership_actions() {
  if (chance(options_.retire_rate)) retire_removed();
  Host* current = leader();
  if (current == nullptr) return;
  if (chance(options_.transfer_rate)) request_transfer(*current, /*then_remove=*/false);
  if (chance(options_.membership_rate)) request_change(*current);
}

void Simulation::request_change(Host& leader) {
  const Membership members = leader.raft->membership();
  // The leader we moved away from in order to remove it: the next leader removes it.
  if (remove_after_transfer_ != kNoNode && remove_after_transfer_ != leader.id) {
    NodeId old = remove_after_transfer_;
    if (!members.contains(old) ||
        (members.is_voter(old) && members.voters.size() <= options_.min_voters)) {
      remove_after_transfer_ = kNoNode;
    } else if (propose_change(leader, {ConfigChange::Kind::kRemove, old})) {
      leader_removals_.insert(old);
      remove_after_transfer_ = kNoNode;
    }
    return;
  }
  size_t running = 0;
  for (auto& host : hosts_) running += host->retired ? 0 : 1;
  switch (uniform(3)) {
    case 0: {  // a fresh node, started with no configuration, joins as a learner
      if (running >= options_.max_running || members.learners.size() >= 2) return;
      auto fresh = std::make_unique<Host>();
      fresh->id = hosts_.size() + 1;
      fresh->tick_phase = uniform(4);
      Host& joiner = *fresh;
      hosts_.push_back(std::move(fresh));
      restart(joiner);
      if (!propose_change(leader, {ConfigChange::Kind::kAddLearner, joiner.id})) {
        joiner.raft.reset();  // never added: stop it again
        joiner.retired = true;
      }
      return;
    }
    case 1: {  // promote a learner (if it lags, the leader refuses)
      if (members.learners.empty() || members.voters.size() >= options_.max_voters) return;
      NodeId id = members.learners[uniform(members.learners.size())];
      Host* learner = host(id);
      if (learner == nullptr || learner->retired) return;  // a voter that can never answer
      propose_change(leader, {ConfigChange::Kind::kPromote, id});
      return;
    }
    default: {  // remove a learner, or a voter while enough remain
      std::vector<NodeId> candidates = members.learners;
      if (members.voters.size() > options_.min_voters) {
        candidates.insert(candidates.end(), members.voters.begin(), members.voters.end());
      }
      if (candidates.empty()) return;
      NodeId id = candidates[uniform(candidates.size())];
      if (id != leader.id) {
        propose_change(leader, {ConfigChange::Kind::kRemove, id});
      } else if (chance(0.5)) {
        request_transfer(leader, /*then_remove=*/true);  // what a host does
      } else if (propose_change(leader, {ConfigChange::Kind::kRemove, id})) {
        leader_removals_.insert(id);  // it leads until this commits, then steps down
      }
      return;
    }
  }
}

bool Simulation::propose_change(Host& leader, ConfigChange change) {
  Submission submission = leader.raft->propose_config(change);
  if (options_.trace) {
    trace(fmt::format("config {} {} at {}: {}", describe(change.kind), change.id, leader.id,
                      submission.accepted
                          ? fmt::format("-> {}/{}", submission.index, submission.term)
                          : refusal_text(submission.refusal)));
  }
  return submission.accepted;
}

void Simulation::request_transfer(Host& leader, bool then_remove) {
  std::vector<NodeId> targets;
  for (NodeId voter : leader.raft->voters()) {
    Host* target = host(voter);
    if (voter != leader.id && target != nullptr && !target->retired) targets.push_back(voter);
  }
  if (targets.empty()) return;
  NodeId to = targets[uniform(targets.size())];
  bool started = leader.raft->transfer_leadership(to);
  if (options_.trace) {
    trace(fmt::format("transfer {} -> {}{}: {}", leader.id, to, then_remove ? " to remove it" : "",
                      started ? "started" : "refused"));
  }
  if (!started) return;
  transfer_ = Transfer{to, leader.raft->term(), now_};
  if (then_remove) remove_after_transfer_ = leader.id;
}

// A committed (applied) config entry, seen for the first time: what it removed is gone for
// good, and may be stopped.
void Simulation::observe_config(const Entry& entry) {
  if (entry.index <= config_index_) return;
  Membership next;
  if (!expect(decode_membership(entry.payload, &next).ok(),
              fmt::format("config entry {} does not decode", entry.index))) {
    return;
  }
  for (const std::vector<NodeId>* ids : {&config_.voters, &config_.learners}) {
    for (NodeId id : *ids) {
      if (next.contains(id)) continue;
      removed_.insert(id);
      if (leader_removals_.count(id)) ++result_.leader_removals;
    }
  }
  config_ = next;
  config_index_ = entry.index;
  ++result_.config_changes;
  if (options_.trace) trace(fmt::format("committed {}: {}", entry.index, describe(config_)));
}

// A node just became leader: the target of a transfer in progress, maybe.
void Simulation::observe_leader(Host& leader) {
  if (!transfer_) return;
  if (leader.raft->term() > transfer_->term) {
    if (leader.id == transfer_->to) ++result_.transfers;
    transfer_.reset();
  }
}

// The operator stops one node whose removal committed (it was a zombie until now).
void Simulation::retire_removed() {
  for (NodeId id : removed_) {
    Host* removed = host(id);
    if (removed == nullptr || removed->retired) continue;
    if (options_.trace) trace(fmt::format("retire {}", id));
    removed->raft.reset();
    removed->unsynced.clear();
    removed->reads.clear();
    removed->retired = true;
    return;
  }
}

}  // namespace kv::raft::testing
