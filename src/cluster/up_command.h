// `kvcluster up`: the one place the running supervisor is wired together: preflight, the
// supervisor lock, optional detach, signals (signalfd), the event loop, the output mux, the
// Supervisor, the control socket and the config watch. Returns the process exit code.
#pragma once

#include <string>

namespace kv::cluster {

struct UpOptions {
  std::string config_path;      // cluster.json
  std::string default_kvstore;  // used when cluster.json names no "kvstore"
  bool detach = false;          // run in the background, output only to the log files
  std::string local_hosts;      // --local-hosts: which hosts are this machine (empty: detect)
};

// Starts the nodes whose host is this machine and probes the others (host_locality.h).
// 0 after a clean stop; 1 when the cluster could not be started (bad config, another
// supervisor, busy port, locked data dir, no node on this machine, a raft cluster spanning
// machines without a shared secret, ...), with one line per problem on stderr.
int run_up(const UpOptions& options);

}  // namespace kv::cluster
