#include "cluster/change_runner.h"

#include <fmt/format.h>

#include <set>

namespace kv::cluster {
namespace {

using protocol::Reply;
using std::chrono::milliseconds;

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool transient(const Reply& r) {
  return r.type == Reply::Type::kError &&
         (starts_with(r.str, "TRYAGAIN") || starts_with(r.str, "CLUSTERDOWN"));
}

std::string reply_text(const Reply& r) {
  switch (r.type) {
    case Reply::Type::kError:
      return "-" + r.str;
    case Reply::Type::kSimpleString:
      return "+" + r.str;
    default:
      return r.to_display();
  }
}

std::string seconds(milliseconds d) {
  return fmt::format("{:.1f} s", static_cast<double>(d.count()) / 1000);
}

milliseconds since(ChangeRunner::Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(ChangeRunner::Clock::now() - t);
}

}  // namespace

ChangeRunner::ChangeRunner(net::EventLoop* loop, OutputMux* mux, NodeHost* host, std::string secret,
                           Settings settings)
    : loop_(loop), mux_(mux), host_(host), secret_(std::move(secret)), settings_(settings) {}

ChangeRunner::~ChangeRunner() {
  cancel_io();
  if (kick_timer_ != 0) loop_->cancel_timer(kick_timer_);
}

void ChangeRunner::event(const std::string& text, int id) {
  mux_->event(text, id == 0 ? "" : node_name(id));
}

// ---- The queue ----

void ChangeRunner::enqueue(ClusterOp op, Finished finished) {
  queue_.push_back({std::move(op), std::move(finished)});
  kick();
}

bool ChangeRunner::pending(ClusterOp::Kind kind, int id) const {
  auto is = [&](const Pending& p) { return p.op.kind == kind && p.op.id == id; };
  if (current_ && is(*current_)) return true;
  for (const auto& p : queue_) {
    if (is(p)) return true;
  }
  return false;
}

// Starts the next operation from the loop: callers (a reload, a control request) finish
// what they are doing first.
void ChangeRunner::kick() {
  if (current_ || queue_.empty() || kick_timer_ != 0) return;
  kick_timer_ = loop_->run_after(milliseconds(0), [this] {
    kick_timer_ = 0;
    start_next();
  });
}

void ChangeRunner::start_next() {
  if (current_ || queue_.empty()) return;
  current_ = std::move(queue_.front());
  queue_.pop_front();
  op_started_ = Clock::now();
  step_ = "starting";
  const ClusterOp op = current_->op;
  Done done = [this](bool ok, std::string message) { finish_op(ok, message); };
  switch (op.kind) {
    case ClusterOp::Kind::kAdd:
      return run_add(op.id, done);
    case ClusterOp::Kind::kRemove:
      return run_remove(op.id, done);
    case ClusterOp::Kind::kRestart:
      return run_restart(op.id, op.why, done);
    case ClusterOp::Kind::kRollingRestart:
      return run_rolling_restart(done);
  }
}

void ChangeRunner::finish_op(bool ok, const std::string& message) {
  cancel_io();
  std::optional<Pending> finished = std::move(current_);
  current_.reset();
  step_.clear();
  if (finished) {
    if (!message.empty()) event(message, finished->op.id);
    if (finished->finished) finished->finished(ok, message);
  }
  kick();
}

void ChangeRunner::cancel_all(const std::string& why) {
  std::deque<Pending> dropped = std::move(queue_);
  queue_.clear();
  if (current_) {
    std::string what = describe_op(current_->op);
    finish_op(false, fmt::format("{}: abandoned ({})", what, why));
  }
  for (auto& p : dropped) {
    std::string message = fmt::format("{}: not done ({})", describe_op(p.op), why);
    event(message, p.op.id);
    if (p.finished) p.finished(false, message);
  }
  queue_.clear();
}

nlohmann::json ChangeRunner::describe() const {
  nlohmann::json out = nlohmann::json::array();
  if (current_) out.push_back(fmt::format("{}: {}", describe_op(current_->op), step_));
  for (const auto& p : queue_) out.push_back("queued: " + describe_op(p.op));
  return out;
}

// ---- Primitives ----

void ChangeRunner::cancel_io() {
  if (timer_ != 0) loop_->cancel_timer(timer_);
  timer_ = 0;
  call_.reset();
  probe_.reset();
}

void ChangeRunner::after(milliseconds delay, std::function<void()> fn) {
  if (timer_ != 0) loop_->cancel_timer(timer_);
  timer_ = loop_->run_after(delay, [this, fn = std::move(fn)] {
    timer_ = 0;
    fn();
  });
}

void ChangeRunner::wait_until(Clock::time_point deadline, std::function<bool()> pred,
                              std::function<void(bool)> done) {
  if (pred()) return done(true);
  if (Clock::now() >= deadline) return done(false);
  after(settings_.poll, [this, deadline, pred = std::move(pred), done = std::move(done)] {
    wait_until(deadline, pred, done);
  });
}

void ChangeRunner::ask_info(int id, ViewDone done) {
  std::optional<NodeAddress> addr = host_->address_of(id);
  if (!addr) return done(std::nullopt);
  probe_ = std::make_unique<HealthProbe>(loop_, addr->host, addr->port, settings_.info_timeout,
                                         [id, done = std::move(done)](ProbeResult r) {
                                           if (!r.ok) return done(std::nullopt);
                                           RaftView view = parse_raft_view(r.info);
                                           if (view.node_id == 0) view.node_id = id;
                                           done(view);
                                         });
}

std::vector<int> ChangeRunner::candidates() const {
  std::vector<int> ids;
  if (last_leader_ != 0 && host_->address_of(last_leader_)) ids.push_back(last_leader_);
  for (int id : host_->known_ids()) {
    if (id != last_leader_) ids.push_back(id);
  }
  return ids;
}

void ChangeRunner::find_leader(ViewDone done) {
  struct Search {
    std::deque<int> order;
    std::set<int> tried;
    ViewDone done;
  };
  auto search = std::make_shared<Search>();
  for (int id : candidates()) search->order.push_back(id);
  search->done = std::move(done);
  // Asks the next untried node; a follower's leader_id is asked right after it.
  auto next = std::make_shared<std::function<void()>>();
  *next = [this, search, weak = std::weak_ptr<std::function<void()>>(next)] {
    while (!search->order.empty() && search->tried.count(search->order.front()) != 0) {
      search->order.pop_front();
    }
    if (search->order.empty()) return search->done(std::nullopt);
    int id = search->order.front();
    search->order.pop_front();
    search->tried.insert(id);
    auto again = weak.lock();
    ask_info(id, [this, search, again](std::optional<RaftView> view) {
      if (view && view->is_leader()) {
        last_leader_ = view->node_id;
        return search->done(view);
      }
      if (view && view->leader_id != 0) search->order.push_front(view->leader_id);
      (*again)();
    });
  };
  // `next` lives as long as a pending ask_info holds `again`; no cycle: *next holds it weakly.
  (*next)();
}

void ChangeRunner::wait_for_leader(Clock::time_point deadline,
                                   std::function<bool(const RaftView&)> accept, ViewDone done) {
  find_leader([this, deadline, accept = std::move(accept),
               done = std::move(done)](std::optional<RaftView> view) {
    if (view && accept(*view)) return done(view);
    if (Clock::now() >= deadline) return done(std::nullopt);
    after(settings_.poll,
          [this, deadline, accept, done] { wait_for_leader(deadline, accept, done); });
  });
}

void ChangeRunner::check_all_follow(std::shared_ptr<std::vector<int>> ids, size_t next, int leader,
                                    std::function<void(bool)> done) {
  if (next == ids->size()) return done(true);
  ask_info((*ids)[next], [this, ids, next, leader, done](std::optional<RaftView> view) {
    // A node that does not answer cannot forward to anybody.
    if (view && view->leader_id != leader) return done(false);
    check_all_follow(ids, next + 1, leader, done);
  });
}

void ChangeRunner::wait_all_follow(int leader, int except, Clock::time_point deadline,
                                   std::function<void(bool)> done) {
  auto ids = std::make_shared<std::vector<int>>();
  for (int id : host_->known_ids()) {
    if (id != except) ids->push_back(id);
  }
  check_all_follow(ids, 0, leader, [this, leader, except, deadline, done](bool all) {
    if (all || Clock::now() >= deadline) return done(all);
    after(settings_.poll, [this, leader, except, deadline, done] {
      wait_all_follow(leader, except, deadline, done);
    });
  });
}

void ChangeRunner::check_caught_up(int id, uint64_t min_applied,
                                   std::function<void(bool, uint64_t)> done) {
  find_leader([this, id, min_applied, done = std::move(done)](std::optional<RaftView> leader) {
    if (!leader) return done(false, 0);
    if (leader->node_id == id) return done(true, 0);
    auto peer = leader->peers.find(id);
    uint64_t lag = peer != leader->peers.end() ? peer->second.lag.value_or(0) : 0;
    if (!caught_up(*leader, id, settings_.max_lag)) return done(false, lag);
    int leader_id = leader->node_id;
    uint64_t commit = leader->commit_index;
    ask_info(id, [this, leader_id, commit, min_applied, lag, done](std::optional<RaftView> node) {
      done(node && node->leader_id == leader_id && node->applied_index >= min_applied &&
               node->applied_index + settings_.max_lag >= commit,
           lag);
    });
  });
}

void ChangeRunner::wait_caught_up(int id, uint64_t min_applied, Clock::time_point deadline,
                                  std::function<void(bool, uint64_t)> done) {
  check_caught_up(id, min_applied,
                  [this, id, min_applied, deadline, done = std::move(done)](bool ok, uint64_t lag) {
                    if (ok || Clock::now() >= deadline) return done(ok, lag);
                    after(settings_.poll, [this, id, min_applied, deadline, done] {
                      wait_caught_up(id, min_applied, deadline, done);
                    });
                  });
}

void ChangeRunner::raft_command(std::vector<std::string> argv, Clock::time_point deadline,
                                Judge judge, std::function<void(bool, std::string)> done) {
  send_command(std::make_shared<std::vector<std::string>>(std::move(argv)), deadline,
               std::move(judge), std::move(done), 0, "no node answered");
}

void ChangeRunner::send_command(std::shared_ptr<std::vector<std::string>> argv,
                                Clock::time_point deadline, Judge judge,
                                std::function<void(bool, std::string)> done, size_t target,
                                std::string last) {
  std::vector<int> ids = candidates();
  // Any transient failure: after a pause, the next node (a follower forwards to the leader).
  auto retry = [this, argv, deadline, judge, done, target](std::string why) {
    if (Clock::now() >= deadline) return done(false, why);
    after(settings_.poll, [this, argv, deadline, judge, done, target, why] {
      send_command(argv, deadline, judge, done, target + 1, why);
    });
  };
  std::optional<NodeAddress> addr;
  if (!ids.empty()) addr = host_->address_of(ids[target % ids.size()]);
  if (!addr) return retry(last);
  auto on_reply = [judge, done, retry](Result<Reply> r) {
    if (!r.ok()) {
      // AUTH refused: a wrong secret does not get better by retrying.
      if (r.status().is_invalid_argument()) return done(false, r.status().message());
      return retry(r.status().message());
    }
    switch (judge(r.value())) {
      case Verdict::kDone:
        return done(true, reply_text(r.value()));
      case Verdict::kFail:
        return done(false, reply_text(r.value()));
      case Verdict::kRetry:
        return retry(reply_text(r.value()));
    }
  };
  call_ = std::make_unique<AdminCall>(loop_, addr->host, addr->port, secret_, *argv,
                                      settings_.call_timeout, std::move(on_reply));
}

// ---- Add: start with --join, ADDLEARNER, wait for the catch-up, PROMOTE ----

void ChangeRunner::run_add(int id, Done done) {
  std::optional<NodeAddress> addr = host_->file_address(id);
  if (!addr) {
    return done(false, fmt::format("{}: not added: it is not in cluster.json", node_name(id)));
  }
  host_->set_change(id, "joining");
  step("starting it with --join");
  host_->start_joining(id);
  wait_until(
      in(settings_.start_deadline), [this, id] { return host_->answering_pid(id) > 0; },
      [this, id, addr = *addr, done](bool up) {
        if (!up) {
          return done(false, fmt::format("{}: not added to the group: it did not answer within {} "
                                         "of its start (it stays supervised; fix it and run "
                                         "kvcluster reload, or take it out of cluster.json)",
                                         node_name(id), seconds(settings_.start_deadline)));
        }
        add_raft_member(id, addr, done);
      });
}

void ChangeRunner::add_raft_member(int id, NodeAddress addr, Done done) {
  step("looking for the leader");
  const std::string where = addr.raft_addr();
  // A member of that id at another address (moved here from another machine, whose kvcluster
  // removes it) is waited for; one at this address was added before: skip to the catch-up.
  auto absent_or_here = [id, where](const RaftView& v) {
    if (!v.is_member(id)) return true;
    auto peer = v.peers.find(id);
    return peer == v.peers.end() || peer->second.addr == where;
  };
  wait_for_leader(
      in(settings_.command_deadline), absent_or_here,
      [this, id, where, done](std::optional<RaftView> leader) {
        if (!leader) {
          return done(false, fmt::format("{}: not added to the group: no leader that would take "
                                         "it within {} (it keeps running outside the group; "
                                         "kvcluster reload tries again)",
                                         node_name(id), seconds(settings_.command_deadline)));
        }
        if (leader->is_voter(id)) {
          host_->set_change(id, "");
          return done(true, fmt::format("{}: already a voter", node_name(id)));
        }
        uint64_t committed = leader->commit_index;
        if (leader->is_learner(id)) return promote_when_caught_up(id, committed, done);
        step("RAFT ADDLEARNER");
        raft_command(
            {"RAFT", "ADDLEARNER", std::to_string(id), where}, in(settings_.command_deadline),
            [](const Reply& r) {
              if (r.type != Reply::Type::kError) return Verdict::kDone;
              if (transient(r)) return Verdict::kRetry;
              // Added by an earlier attempt whose reply was lost.
              return r.str.find("already") != std::string::npos ? Verdict::kDone : Verdict::kFail;
            },
            [this, id, where, committed, done](bool ok, std::string reply) {
              if (!ok) {
                return done(false, fmt::format("{}: not added to the group: RAFT ADDLEARNER {} {}: "
                                               "{} (it keeps running outside the group)",
                                               node_name(id), id, where, reply));
              }
              event(fmt::format("{}: learner started (added to the group at {})", node_name(id),
                                where),
                    id);
              promote_when_caught_up(id, committed, done);
            });
      });
}

void ChangeRunner::promote_when_caught_up(int id, uint64_t min_applied, Done done) {
  step("waiting for it to catch up");
  auto added = Clock::now();
  wait_caught_up(
      id, min_applied, in(settings_.catch_up_deadline),
      [this, id, added, done](bool ok, uint64_t lag) {
        if (!ok) {
          return done(false, fmt::format("{}: stays a learner: it did not catch up within {} (lag "
                                         "{}); kvcluster reload tries again",
                                         node_name(id), seconds(settings_.catch_up_deadline), lag));
        }
        event(fmt::format("{}: caught up (lag {}, {} after it was added)", node_name(id), lag,
                          seconds(since(added))),
              id);
        step("RAFT PROMOTE");
        raft_command(
            {"RAFT", "PROMOTE", std::to_string(id)}, in(settings_.command_deadline),
            [](const Reply& r) {
              if (r.type != Reply::Type::kError) return Verdict::kDone;
              if (transient(r)) return Verdict::kRetry;  // -TRYAGAIN learner is behind: again
              return r.str.find("already") != std::string::npos ? Verdict::kDone : Verdict::kFail;
            },
            [this, id, done](bool ok, std::string reply) {
              if (!ok) {
                return done(false,
                            fmt::format("{}: stays a learner: RAFT PROMOTE {}: {}; kvcluster "
                                        "reload tries again",
                                        node_name(id), id, reply));
              }
              host_->set_change(id, "");
              done(true, fmt::format("{}: promoted to voter ({} after the change started)",
                                     node_name(id), seconds(since(op_started_))));
            });
      });
}

// ---- Moving leadership away from a node before it stops ----

void ChangeRunner::hand_over_if_leading(int id, std::function<void(bool, std::string)> done) {
  step("looking for the leader");
  wait_for_leader(
      in(settings_.leader_deadline), [](const RaftView&) { return true; },
      [this, id, done](std::optional<RaftView> leader) {
        if (!leader) {
          return done(false,
                      fmt::format("no leader within {}", seconds(settings_.leader_deadline)));
        }
        if (leader->node_id != id) return done(true, "");
        int target = best_transfer_target(*leader, id, settings_.max_lag);
        if (target == 0)
          return done(false, "it leads, and no other voter is up to date to take over");
        step(fmt::format("moving leadership to node{}", target));
        raft_command(
            {"RAFT", "TRANSFER", std::to_string(target)}, in(settings_.command_deadline),
            [](const Reply& r) {
              if (r.type != Reply::Type::kError) return Verdict::kDone;
              return transient(r) ? Verdict::kRetry : Verdict::kFail;
            },
            [this, id, target, done](bool ok, std::string reply) {
              if (!ok) return done(false, fmt::format("RAFT TRANSFER {}: {}", target, reply));
              step("waiting for the new leader");
              wait_for_leader(
                  in(settings_.leader_deadline),
                  [id](const RaftView& v) { return v.node_id != id; },
                  [this, id, done](std::optional<RaftView> next) {
                    if (!next) {
                      return done(false, fmt::format("it still leads {} after RAFT TRANSFER",
                                                     seconds(settings_.leader_deadline)));
                    }
                    event(fmt::format("{}: leadership transferred to node{} (term {})",
                                      node_name(id), next->node_id, next->term),
                          id);
                    // Writes the others forwarded to it were parked and passed on; once every
                    // node follows the new leader, none is on its way to the old one.
                    step("waiting until every node follows the new leader");
                    wait_all_follow(next->node_id, id, in(settings_.leader_deadline),
                                    [done](bool) { done(true, ""); });
                  });
            });
      });
}

// ---- Remove: leadership moved away, REMOVE, then the process stopped ----

void ChangeRunner::run_remove(int id, Done done) {
  host_->set_change(id, "leaving");
  // The leader could remove itself (it hands over once the removal commits), but writes it
  // accepted meanwhile would be left without an answer when it stops: hand over first.
  hand_over_if_leading(id, [this, id, done](bool ok, std::string problem) {
    if (!ok) {
      event(fmt::format("{}: could not hand leadership over first ({}); removing it anyway",
                        node_name(id), problem),
            id);
    }
    remove_from_group(id, done);
  });
}

void ChangeRunner::remove_from_group(int id, Done done) {
  step("looking for the leader");
  wait_for_leader(
      in(settings_.leader_deadline), [](const RaftView&) { return true; },
      [this, id, done](std::optional<RaftView> leader) {
        if (!leader) {
          host_->set_change(id, "");
          return done(false, fmt::format("{}: not removed from the group: no leader within {}; "
                                         "it keeps running (kvcluster reload tries again)",
                                         node_name(id), seconds(settings_.leader_deadline)));
        }
        if (leader->has_membership && !leader->is_member(id)) {
          event(fmt::format("{}: not a member of the group (any more)", node_name(id)), id);
          return stop_removed_process(id, done);
        }
        bool was_leader = leader->node_id == id;
        step("RAFT REMOVE");
        raft_command(
            {"RAFT", "REMOVE", std::to_string(id)}, in(settings_.command_deadline),
            [](const Reply& r) {
              if (r.type != Reply::Type::kError) return Verdict::kDone;
              if (transient(r)) return Verdict::kRetry;
              // Removed by an earlier attempt whose reply was lost.
              return r.str.find("not a member") != std::string::npos ? Verdict::kDone
                                                                     : Verdict::kFail;
            },
            [this, id, was_leader, done](bool ok, std::string reply) {
              if (!ok) {
                host_->set_change(id, "");
                return done(false, fmt::format("{}: not removed from the group: RAFT REMOVE {}: "
                                               "{}; it keeps running (kvcluster reload tries "
                                               "again)",
                                               node_name(id), id, reply));
              }
              event(fmt::format("{}: removed from the group", node_name(id)), id);
              if (!was_leader) return stop_removed_process(id, done);
              // It still led (the hand-over failed): it hands over once the removal commits;
              // stop it only once another node leads, so that nobody waits for an election.
              step("waiting for a new leader");
              wait_for_leader(
                  in(settings_.leader_deadline),
                  [id](const RaftView& v) { return v.node_id != id; },
                  [this, id, done](std::optional<RaftView> next) {
                    if (next) {
                      event(fmt::format("{}: handed over: node{} leads now (term {})",
                                        node_name(id), next->node_id, next->term),
                            id);
                    }
                    stop_removed_process(id, done);
                  });
            });
      });
}

void ChangeRunner::stop_removed_process(int id, Done done) {
  step("stopping it");
  host_->stop_removed(id);
  milliseconds limit = host_->stop_timeout() + milliseconds(5000);
  wait_until(
      in(limit), [this, id] { return !host_->runs_process(id); },
      [id, done](bool stopped) {
        done(stopped, stopped ? fmt::format("{}: stopped (out of the group)", node_name(id))
                              : fmt::format("{}: removed from the group, but its process has not "
                                            "exited yet",
                                            node_name(id)));
      });
}

// ---- Restart: leadership moved away, the majority checked, restarted, caught up ----

void ChangeRunner::run_restart(int id, const std::string& why, Done done) {
  if (host_->file_address(id) == std::nullopt) {
    return done(false, fmt::format("{}: not restarted: not in cluster.json", node_name(id)));
  }
  host_->set_change(id, "restarting");
  hand_over_if_leading(id, [this, id, why, done](bool ok, std::string problem) {
    if (!ok) {
      host_->set_change(id, "");
      return done(false, fmt::format("{}: not restarted: {}", node_name(id), problem));
    }
    restart_process(id, why, done);
  });
}

void ChangeRunner::restart_process(int id, const std::string& why, Done done) {
  step("checking the majority");
  // A fresh look from the leader: the restart must leave a majority of voters reachable.
  wait_for_leader(
      in(settings_.leader_deadline), [id](const RaftView& v) { return v.node_id != id; },
      [this, id, why, done](std::optional<RaftView> leader) {
        std::string problem;
        if (!leader) {
          problem = "no leader other than itself";
        } else if ((!leader->has_membership || leader->is_voter(id)) &&
                   !majority_without(*leader, id, &problem)) {
          problem = "stopping it would lose the majority: " + problem;
        }
        if (!problem.empty()) {
          host_->set_change(id, "");
          return done(false, fmt::format("{}: not restarted: {}", node_name(id), problem));
        }
        pid_t old_pid = host_->answering_pid(id);
        uint64_t committed = leader->commit_index;
        event(fmt::format("{}: restarting ({})", node_name(id), why), id);
        step("restarting");
        host_->restart_member(id);
        milliseconds limit = host_->stop_timeout() + settings_.start_deadline;
        wait_until(
            in(limit),
            [this, id, old_pid] {
              pid_t pid = host_->answering_pid(id);
              return pid > 0 && pid != old_pid;
            },
            [this, id, limit, committed, done](bool up) {
              if (!up) {
                host_->set_change(id, "");
                return done(false, fmt::format("{}: did not answer again within {} of its "
                                               "restart",
                                               node_name(id), seconds(limit)));
              }
              catch_up_after_restart(id, committed, done);
            });
      });
}

void ChangeRunner::catch_up_after_restart(int id, uint64_t min_applied, Done done) {
  step("waiting for it to catch up");
  auto answered = Clock::now();
  wait_caught_up(
      id, min_applied, in(settings_.catch_up_deadline),
      [this, id, answered, done](bool ok, uint64_t lag) {
        host_->set_change(id, "");
        if (!ok) {
          return done(false, fmt::format("{}: restarted, but it did not catch up within {} (lag "
                                         "{})",
                                         node_name(id), seconds(settings_.catch_up_deadline), lag));
        }
        done(true, fmt::format("{}: caught up (lag {}, {} after it answered)", node_name(id), lag,
                               seconds(since(answered))));
      });
}

// ---- Rolling restart: every local node, followers first, one at a time ----

void ChangeRunner::run_rolling_restart(Done done) {
  step("looking for the leader");
  wait_for_leader(
      in(settings_.leader_deadline), [](const RaftView&) { return true; },
      [this, done](std::optional<RaftView> leader) {
        if (!leader) {
          return done(false, fmt::format("rolling restart not started: no leader within {}",
                                         seconds(settings_.leader_deadline)));
        }
        std::vector<int> local = host_->local_ids();
        for (int id : local) {
          if (host_->answering_pid(id) < 0) {
            return done(false, fmt::format("rolling restart not started: {} is not running "
                                           "(restart it alone first: kvcluster restart {})",
                                           node_name(id), node_name(id)));
          }
        }
        roll_order_ = rolling_restart_order(local, leader->node_id);
        roll_next_ = 0;
        std::string names;
        for (int id : roll_order_) {
          names += (names.empty() ? "" : ", ") + node_name(id) +
                   (id == leader->node_id ? " (the leader, last)" : "");
        }
        event(fmt::format("rolling restart of {} node{}, one at a time: {}", roll_order_.size(),
                          roll_order_.size() == 1 ? "" : "s", names),
              0);
        restart_next_in_roll(done);
      });
}

void ChangeRunner::restart_next_in_roll(Done done) {
  if (roll_next_ == roll_order_.size()) {
    return done(true,
                fmt::format("rolling restart done: {} node{} restarted in {}", roll_order_.size(),
                            roll_order_.size() == 1 ? "" : "s", seconds(since(op_started_))));
  }
  int id = roll_order_[roll_next_];
  std::string why = fmt::format("rolling restart, {} of {}", roll_next_ + 1, roll_order_.size());
  run_restart(id, why, [this, id, done](bool ok, std::string message) {
    if (!ok) {
      return done(false, fmt::format("rolling restart stopped at {} ({} of {} restarted): {}",
                                     node_name(id), roll_next_, roll_order_.size(), message));
    }
    event(message, id);
    roll_next_++;
    restart_next_in_roll(done);
  });
}

}  // namespace kv::cluster
