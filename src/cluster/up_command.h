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
};

// 0 after a clean stop; 1 when the cluster could not be started (bad config, another
// supervisor, busy port, locked data dir, ...), with one line per problem on stderr.
int run_up(const UpOptions& options);

}  // namespace kv::cluster
