#include "cluster/commands.h"

#include <fmt/format.h>

#include <cstdio>

#include "cluster/cluster_config.h"
#include "cluster/control_channel.h"
#include "cluster/health_probe.h"
#include "cluster/status_view.h"

namespace kv::cluster {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kRequestTimeout{5000};

std::string socket_for(const std::string& config_path) {
  return control_socket_path(state_dir_for(config_path));
}

void say_no_supervisor(const std::string& config_path) {
  std::fprintf(stderr, "kvcluster: no supervisor is running for %s (start one with kvcluster up)\n",
               config_path.c_str());
}

// No supervisor: ask every configured port directly, so the operator still learns what runs.
int probe_without_supervisor(const std::string& config_path, const std::string& default_kvstore,
                             bool json) {
  say_no_supervisor(config_path);
  auto config = load_cluster_config(config_path, default_kvstore);
  if (!config.ok()) {
    std::fprintf(stderr, "kvcluster: %s\n", config.status().message().c_str());
    return kExitNoSupervisor;
  }
  nlohmann::json nodes = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows = {{"NODE", "PORT", "ANSWER"}};
  for (const auto& spec : config->nodes) {
    ProbeResult r = probe_once(ClusterConfig::probe_host(spec), spec.port, milliseconds(1000));
    std::string answer;
    if (r.ok) {
      auto pid = r.info.count("process_id") ? r.info["process_id"] : "?";
      answer = fmt::format("answers PING (pid {}, not supervised)", pid);
    } else {
      answer = "no answer: " + r.error;
    }
    rows.push_back({spec.name, std::to_string(spec.port), answer});
    nlohmann::json info = nlohmann::json::object();
    for (const auto& [k, v] : r.info) info[k] = v;
    nodes.push_back({{"id", spec.id},
                     {"name", spec.name},
                     {"port", spec.port},
                     {"pid", nullptr},
                     {"state", r.ok ? "unsupervised" : "down"},
                     {"answers", r.ok},
                     {"error", r.error},
                     {"restarts", nullptr},
                     {"uptime_s", nullptr},
                     {"last_exit", nullptr},
                     {"info", info}});
  }
  if (json) {
    std::printf("%s\n", nlohmann::json{{"supervisor", nullptr}, {"nodes", nodes}}.dump().c_str());
  } else {
    std::printf("%s", format_columns(rows).c_str());
  }
  return kExitNoSupervisor;
}

// Sends a one-shot command; prints its message or error. 0 / 1 / 3 as documented.
int simple_command(const std::string& config_path, const nlohmann::json& request) {
  auto reply = control_request(socket_for(config_path), request, kRequestTimeout);
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

int run_status(const std::string& config_path, const std::string& default_kvstore, bool json) {
  auto reply = control_request(socket_for(config_path), {{"cmd", "status"}}, kRequestTimeout);
  if (!reply.ok()) {
    if (reply.status().is_not_found())
      return probe_without_supervisor(config_path, default_kvstore, json);
    std::fprintf(stderr, "kvcluster: %s\n", reply.status().message().c_str());
    return 1;
  }
  nlohmann::json status = std::move(reply).value();
  status.erase("ok");
  bool all_running = !status["nodes"].empty();
  for (const auto& n : status["nodes"])
    all_running = all_running && n.value("state", "") == "running";
  if (json) {
    std::printf("%s\n", status.dump().c_str());
  } else {
    std::printf("%s", format_status_table(status).c_str());
  }
  return all_running ? 0 : 1;
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
  return simple_command(config_path, {{"cmd", "restart"}, {"node", node}});
}

int run_reload(const std::string& config_path) {
  return simple_command(config_path, {{"cmd", "reload"}});
}

}  // namespace kv::cluster
