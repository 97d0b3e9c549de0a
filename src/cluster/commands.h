// The commands that talk to a running supervisor over its control socket: status, down,
// restart, reload. Each returns the process exit code and prints its own output:
//   status: the cluster's health (cluster_health.h), with a one-line summary under the table:
//             raft mode: 0 healthy, 1 degraded (a majority up with a leader), 2 no quorum;
//             independent mode: 0 every node running, 1 some node is not.
//           With no supervisor (or one that does not answer) each node is probed directly;
//           raft mode still answers 0/1/2 from what the nodes say (a cluster run by systemd
//           has no supervisor); independent mode then exits 3 (1 if the supervisor is there
//           but did not answer).
//   down/restart/reload: 0 done, 1 refused (unknown node, invalid config, ...), 3 no supervisor
//   restart without a node (raft mode): a rolling restart; returns once it is over: 0 every
//           node restarted and caught up, 1 refused or stopped part-way (the reason printed)
// Every command: 64 (EX_USAGE) for bad flags.
#pragma once

#include <string>

#include "cluster/host_locality.h"

namespace kv::cluster {

inline constexpr int kExitNoSupervisor = 3;
inline constexpr int kExitUsage = 64;  // sysexits.h EX_USAGE: 2 is status's "no quorum"

// locality: which nodes are on this machine (shown as remote otherwise) when probing directly.
int run_status(const std::string& config_path, const std::string& default_kvstore, bool json,
               const HostLocality& locality);
int run_down(const std::string& config_path);
// node empty: a rolling restart of every node of this machine.
int run_restart(const std::string& config_path, const std::string& node);
int run_reload(const std::string& config_path);

}  // namespace kv::cluster
