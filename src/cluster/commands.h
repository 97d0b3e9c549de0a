// The commands that talk to a running supervisor over its control socket: status, down,
// restart, reload. Each returns the process exit code and prints its own output:
//   status: 0 every node running, 1 some node is not, 3 no supervisor (then each port is
//           probed directly and the answers shown)
//   down/restart/reload: 0 done, 1 refused (unknown node, invalid config, ...), 3 no supervisor
#pragma once

#include <string>

namespace kv::cluster {

inline constexpr int kExitNoSupervisor = 3;

int run_status(const std::string& config_path, const std::string& default_kvstore, bool json);
int run_down(const std::string& config_path);
int run_restart(const std::string& config_path, const std::string& node);
int run_reload(const std::string& config_path);

}  // namespace kv::cluster
