// kvcluster: runs the cluster described by cluster.json and answers questions about it.
// Thin: parses flags and hands over to the command. Exit codes: see README "kvcluster";
// 64 (EX_USAGE) for bad flags (one line on stderr), since status uses 2 for "no quorum".
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cluster/commands.h"
#include "cluster/host_locality.h"
#include "cluster/logs_command.h"
#include "cluster/up_command.h"

namespace {

// The kvstore built next to this kvcluster (build/kvstore beside build/kvcluster).
std::string sibling_kvstore() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "kvstore";
  return (self.parent_path() / "kvstore").string();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "kvcluster: runs a kvstore cluster from cluster.json: starts every node, shows their "
      "output as one stream, restarts nodes that crash, applies edits of the file live.\n"
      "State (lock, control socket, logs, the generated cluster secret) lives in .kvcluster/ "
      "next to cluster.json.",
      "kvcluster"};
  app.set_version_flag("--version", std::string("kvcluster ") + KV_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  std::string config = "cluster.json";
  app.add_option("-c,--config", config, "The cluster file")->capture_default_str();
  std::string local_hosts;
  app.add_option("--local-hosts", local_hosts,
                 "Which cluster.json hosts are this machine, comma-separated (default: loopback, "
                 "0.0.0.0, this machine's interface addresses and hostname). Nodes on other "
                 "hosts are probed, not started")
      ->envname(kv::cluster::kLocalHostsEnvVar);

  kv::cluster::UpOptions up;
  CLI::App* up_cmd = app.add_subcommand(
      "up",
      "Start every node and supervise them until Ctrl-C/SIGTERM or kvcluster down; "
      "exit 0 after a clean stop, 1 if the cluster could not start");
  up_cmd->add_flag("-d,--detach", up.detach,
                   "Run in the background; output goes only to the log files");

  bool json = false;
  CLI::App* status_cmd = app.add_subcommand(
      "status",
      "One row per node: port, pid, state, uptime, restarts, last exit, keys, and what the "
      "node reports about Raft (role, term, leader, commit index), then a health summary. "
      "Raft mode: exit 0 healthy, 1 degraded (a majority up with a leader), 2 no quorum, with "
      "or without a supervisor (nodes are then probed directly). Independent mode: exit 0 all "
      "running, 1 some not, 3 no supervisor");
  status_cmd->add_flag("--json", json, "Machine-readable: {\"nodes\":[{...}, ...]}");

  CLI::App* down_cmd =
      app.add_subcommand("down", "Stop every node and the supervisor; waits until done");

  std::string node;
  CLI::App* restart_cmd = app.add_subcommand(
      "restart",
      "Restart one node (also re-arms a failed one). Without NODE, in raft mode: a rolling "
      "restart of this machine's nodes that keeps a majority up: followers one at a time, each "
      "waited for until caught up, then leadership moved away and the old leader restarted; "
      "returns when done (exit 0) or stopped (exit 1)");
  restart_cmd->add_option("node", node, "node2 or 2");

  CLI::App* reload_cmd = app.add_subcommand(
      "reload", "Apply cluster.json now (the supervisor also watches the file and takes SIGHUP)");

  bool follow = false;
  int lines = -1;
  std::string log_node;
  CLI::App* logs_cmd =
      app.add_subcommand("logs", "Print the log files of one node (or all, merged by time)");
  logs_cmd->add_option("node", log_node, "node2, 2, or kvcluster (the supervisor's own events)");
  logs_cmd->add_flag("-f,--follow", follow, "Keep printing new lines");
  logs_cmd->add_option("-n,--lines", lines, "Only the last N lines");

  using kv::cluster::kExitUsage;
  if (argc == 1) {
    std::printf("%s", app.help().c_str());
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "kvcluster: %s (see kvcluster --help)\n", e.what());
    return kExitUsage;
  }

  using namespace kv::cluster;
  auto locality = locality_for(local_hosts);
  if (!locality.ok()) {
    std::fprintf(stderr, "kvcluster: --local-hosts: %s\n", locality.status().message().c_str());
    return kExitUsage;
  }
  if (up_cmd->parsed()) {
    up.config_path = config;
    up.default_kvstore = sibling_kvstore();
    up.local_hosts = local_hosts;
    return run_up(up);
  }
  if (status_cmd->parsed()) return run_status(config, sibling_kvstore(), json, *locality);
  if (down_cmd->parsed()) return run_down(config);
  if (restart_cmd->parsed()) return run_restart(config, node);
  if (reload_cmd->parsed()) return run_reload(config);
  if (logs_cmd->parsed()) return run_logs(config, log_node, follow, lines);
  return kExitUsage;
}
