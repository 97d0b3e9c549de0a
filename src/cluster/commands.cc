#include "cluster/commands.h"

#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "cluster/cluster_config.h"
#include "cluster/cluster_health.h"
#include "cluster/control_channel.h"
#include "cluster/health_probe.h"
#include "cluster/status_view.h"
#include "net/event_loop.h"

namespace kv::cluster {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kRequestTimeout{5000};
// A rolling restart waits for every node to catch up: allow for large data sets.
constexpr milliseconds kRollingRestartTimeout{6 * 3600 * 1000};

std::string socket_for(const std::string& config_path) {
  return control_socket_path(state_dir_for(config_path));
}

void say_no_supervisor(const std::string& config_path) {
  std::fprintf(stderr, "kvcluster: no supervisor is running for %s (start one with kvcluster up)\n",
               config_path.c_str());
}

// Probes every node at once (PING + INFO), on one loop: a dead host costs one timeout, not one
// per node.
std::vector<ProbeResult> probe_all(const ClusterConfig& config, milliseconds timeout) {
  net::EventLoop loop;
  std::vector<ProbeResult> results(config.nodes.size());
  size_t pending = config.nodes.size();
  std::vector<std::unique_ptr<HealthProbe>> probes;
  for (size_t i = 0; i < config.nodes.size(); ++i) {
    const NodeSpec& spec = config.nodes[i];
    probes.push_back(std::make_unique<HealthProbe>(&loop, ClusterConfig::probe_host(spec),
                                                   spec.port, timeout, [&, i](ProbeResult r) {
                                                     results[i] = std::move(r);
                                                     if (--pending == 0) loop.stop();
                                                   }));
  }
  if (pending > 0) loop.run();
  return results;
}

// A status document like the supervisor's, from the nodes' own answers: state "unsupervised"
// (answers), "down" (does not) or "remote" (another machine's node).
nlohmann::json probed_status(const ClusterConfig& config, const HostLocality& locality) {
  std::vector<ProbeResult> results = probe_all(config, milliseconds(1000));
  nlohmann::json nodes = nlohmann::json::array();
  for (size_t i = 0; i < config.nodes.size(); ++i) {
    const NodeSpec& spec = config.nodes[i];
    const ProbeResult& r = results[i];
    bool local = locality.is_local(spec.host);
    auto field = [&](const char* key) -> nlohmann::json {
      auto it = r.info.find(key);
      if (!r.ok || it == r.info.end()) return nullptr;
      try {
        return std::stoll(it->second);
      } catch (...) {
        return nullptr;
      }
    };
    nlohmann::json node = {{"id", spec.id},
                           {"name", spec.name},
                           {"host", spec.host},
                           {"port", spec.port},
                           {"pid", local ? field("process_id") : nullptr},
                           {"state", !local ? "remote"
                                     : r.ok ? "unsupervised"
                                            : "down"},
                           {"answering", r.ok},
                           {"answers", r.ok},
                           {"error", r.error},
                           {"restarts", nullptr},
                           {"uptime_s", field("uptime_in_seconds")},
                           {"last_exit", nullptr},
                           {"info", shown_info(r.info)}};
    if (!local) node["remote"] = true;
    if (!r.ok) node["probe_error"] = r.error;
    nodes.push_back(node);
  }
  return {{"mode", config.mode}, {"supervisor", nullptr}, {"nodes", nodes}};
}

void print_status(nlohmann::json status, const ClusterHealth& health, bool json) {
  status["health"] = health.to_json();
  if (json) {
    std::printf("%s\n", status.dump().c_str());
  } else {
    std::printf("%s%s\n", format_status_table(status).c_str(), health.summary.c_str());
  }
}

// No supervisor answers: ask every node directly, so the operator still learns what runs.
// Raft mode: the cluster's health decides the exit code; independent: no_supervisor_code.
int probe_without_supervisor(const std::string& config_path, const std::string& default_kvstore,
                             bool json, const HostLocality& locality, int no_supervisor_code) {
  auto config = load_cluster_config(config_path, default_kvstore);
  if (!config.ok()) {
    std::fprintf(stderr, "kvcluster: %s\n", config.status().message().c_str());
    return no_supervisor_code;
  }
  nlohmann::json status = probed_status(*config, locality);
  ClusterHealth health = assess_health(status);
  print_status(std::move(status), health, json);
  return config->raft() ? health.exit_code() : no_supervisor_code;
}

// Sends a one-shot command; prints its message or error. 0 / 1 / 3 as documented.
int simple_command(const std::string& config_path, const nlohmann::json& request,
                   milliseconds timeout = kRequestTimeout) {
  auto reply = control_request(socket_for(config_path), request, timeout);
  if (!reply.ok()) {
    if (reply.status().is_not_found()) {
      say_no_supervisor(config_path);
      return kExitNoSupervisor;
    }
    std::fprintf(stderr, "kvcluster: %s\n", reply.status().message().c_str());
    return 1;
  }
  if (!reply->value("ok", false)) {
    std::fprintf(stderr, "kvcluster: %s\n", reply->value("error", std::string("failed")).c_str());
    return 1;
  }
  std::printf("%s\n", reply->value("message", std::string("ok")).c_str());
  return 0;
}

}  // namespace

int run_status(const std::string& config_path, const std::string& default_kvstore, bool json,
               const HostLocality& locality) {
  auto reply = control_request(socket_for(config_path), {{"cmd", "status"}}, kRequestTimeout);
  if (!reply.ok()) {
    bool absent = reply.status().is_not_found();
    if (absent) {
      std::fprintf(stderr, "kvcluster: no supervisor is running for %s here; asking each node\n",
                   config_path.c_str());
    } else {
      std::fprintf(stderr, "kvcluster: %s; asking each node\n", reply.status().message().c_str());
    }
    return probe_without_supervisor(config_path, default_kvstore, json, locality,
                                    absent ? kExitNoSupervisor : 1);
  }
  nlohmann::json status = std::move(reply).value();
  status.erase("ok");
  ClusterHealth health = assess_health(status);
  print_status(std::move(status), health, json);
  return health.exit_code();
}

int run_down(const std::string& config_path) {
  bool closed = false;
  // The supervisor answers at once and closes the connection when it has exited; wait for
  // that (bounded: a stop takes at most the stop timeout plus the SIGKILL).
  auto reply = control_request_and_wait(socket_for(config_path), {{"cmd", "down"}}, kRequestTimeout,
                                        milliseconds(120000), &closed);
  if (!reply.ok()) {
    if (reply.status().is_not_found()) {
      say_no_supervisor(config_path);
      return kExitNoSupervisor;
    }
    std::fprintf(stderr, "kvcluster: %s\n", reply.status().message().c_str());
    return 1;
  }
  if (!closed) {
    std::fprintf(stderr, "kvcluster: the supervisor is still stopping (see kvcluster status)\n");
    return 1;
  }
  std::printf("kvcluster: stopped\n");
  return 0;
}

int run_restart(const std::string& config_path, const std::string& node) {
  if (!node.empty()) return simple_command(config_path, {{"cmd", "restart"}, {"node", node}});
  // A rolling restart answers when it is over: each node is waited for until caught up.
  std::printf(
      "kvcluster: rolling restart: one node at a time, followers first (progress in the "
      "output of kvcluster up and in kvcluster logs)\n");
  std::fflush(stdout);
  return simple_command(config_path, {{"cmd", "restart"}}, kRollingRestartTimeout);
}

int run_reload(const std::string& config_path) {
  return simple_command(config_path, {{"cmd", "reload"}});
}

}  // namespace kv::cluster
