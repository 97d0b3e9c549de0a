// Checks `kvcluster up` makes before starting anything, and the supervisor lock.
// Each check answers with one line naming what is wrong, so `up` can refuse clearly instead of
// starting a cluster where one node crash-loops on a busy port. Stateless apart from the
// lock object, which owns its fd (the lock is held until it is destroyed or the process dies,
// and is inherited by a detached child across fork).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "cluster/cluster_config.h"
#include "common/status.h"

namespace kv::cluster {

// flock(2) on <state_dir>/supervisor.lock: one supervisor per cluster.json.
class SupervisorLock {
 public:
  // Creates state_dir if needed. Busy("another kvcluster (pid N) is already running on FILE")
  // when held by someone else.
  static Result<SupervisorLock> acquire(const ClusterConfig& config);
  // Whether some process holds the lock right now (for `status`, `down`, `logs`).
  static bool is_held(const ClusterConfig& config);

  SupervisorLock(SupervisorLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  SupervisorLock& operator=(SupervisorLock&&) = delete;
  ~SupervisorLock();
  // Records the pid of the supervisor (after a detach fork the child rewrites it).
  void write_pid();

 private:
  explicit SupervisorLock(int fd) : fd_(fd) {}
  int fd_;
};

// The node's port can be bound and its data dir is not locked by a running kvstore (nor a
// plain file). Errors are one line: "node2: port 9002 is already in use on 127.0.0.1".
Status check_node(const NodeSpec& node);
// Whether the node's data dir holds state a kvstore wrote (raft_state, snapshot.bin, or a
// non-empty wal.bin): it has been part of a cluster before. A missing dir holds none.
bool has_node_data(const std::string& data_dir);
// kvstore names an executable file.
Status check_kvstore(const std::string& path);
// All of the above for the kvstore binary and every node in local_ids (the nodes this machine
// runs); one line per problem (empty: all clear).
std::vector<std::string> preflight(const ClusterConfig& config, const std::set<int>& local_ids);

// The state directory: created (mode 0700) if missing.
Status ensure_state_dir(const ClusterConfig& config);

}  // namespace kv::cluster
