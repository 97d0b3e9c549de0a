// `kvcluster logs [NODE] [-f] [-n N]`: prints the per-node log files the supervisor keeps in
// the state directory (<name>.log and its one rotation <name>.log.1). Without NODE, every
// log file (nodes and the supervisor's own kvcluster.log) merged by timestamp, each line
// prefixed by its name. -f keeps following (inotify on the state directory, across rotation).
#pragma once

#include <string>

namespace kv::cluster {

// 0 ok, 1 no such node log / unreadable state directory.
int run_logs(const std::string& config_path, const std::string& node, bool follow, int tail_lines);

}  // namespace kv::cluster
