// MembershipFault: the membership changes of a chaos run, done the way a user does them: by
// editing cluster.json while `kvcluster up` runs (kvcluster starts an added node with --join,
// adds it as a learner, promotes it once caught up; it removes a deleted node from the group,
// then stops it). Each change is waited for from outside, through the nodes' own view (INFO
// raft on the leader) and kvcluster's status; when kvcluster is idle and the change is not
// done, `kvcluster reload` asks it to try again. Used by the fault thread only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "chaos/cluster_driver.h"

namespace kv::chaos {

// One membership change, as the report shows it.
struct MembershipChange {
  bool add = true;  // +node (joined as a voter) or -node (removed and stopped)
  int node = 0;
  uint16_t port = 0;
  bool was_leader = false;  // removals: the node led when its removal started
  int64_t start_ns = 0;     // since the run's epoch: the cluster.json edit
  int64_t end_ns = 0;       // when it was seen done (or given up)
  bool done = false;
  int reloads = 0;   // `kvcluster reload` retries it needed
  std::string note;  // why it is not done
};

// "+node4" / "-node2".
std::string change_label(const MembershipChange& change);

class MembershipFault {
 public:
  using Clock = std::chrono::steady_clock;

  struct Settings {
    std::chrono::milliseconds deadline{30000};    // one change, from the edit to done
    std::chrono::milliseconds retry_after{3000};  // not done and kvcluster idle: reload
    std::chrono::milliseconds poll{50};
    std::chrono::milliseconds info_timeout{300};
  };

  // driver must outlive this. epoch: time zero of the run. *abort (may be null) ends a wait
  // early (Ctrl-C).
  MembershipFault(ClusterDriver* driver, Clock::time_point epoch, Settings settings,
                  const std::atomic<bool>* abort);

  // A new node (new id, free port, empty data dir "node<id>") is added to cluster.json;
  // done once the leader counts it as a voter and it answers. Then it is live (clients and
  // faults pick it).
  MembershipChange add_node();
  // Node id leaves the live nodes, then cluster.json; done once a leader other than id no
  // longer has it in its configuration and kvcluster has stopped its process.
  MembershipChange remove_node(int id);

 private:
  // Polls done() until it is true (true), the deadline passes or abort is set (false);
  // meanwhile retries through `kvcluster reload` when kvcluster has no change under way.
  bool wait_for(const std::function<bool()>& done, MembershipChange* change);
  int64_t now_ns() const;

  ClusterDriver* driver_;
  Clock::time_point epoch_;
  Settings settings_;
  const std::atomic<bool>* abort_;
};

}  // namespace kv::chaos
