#include "cluster/up_command.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <set>

#include "cluster/cluster_config.h"
#include "cluster/cluster_secret.h"
#include "cluster/config_watch.h"
#include "cluster/control_channel.h"
#include "cluster/control_server.h"
#include "cluster/host_locality.h"
#include "cluster/output_mux.h"
#include "cluster/preflight.h"
#include "cluster/supervisor.h"
#include "net/event_loop.h"

namespace kv::cluster {
namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "kvcluster: %s\n", message.c_str());
  return 1;
}

// Forks; the parent waits until the child reports "ready" (or an error) on a pipe and exits
// with 0 (or 1). Returns the fd the child reports on; in the parent it never returns.
int detach(const ClusterConfig& config, size_t local_nodes) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return -1;
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid > 0) {
    ::close(ready[1]);
    std::string msg;
    char buf[512];
    ssize_t n;
    while ((n = ::read(ready[0], buf, sizeof(buf))) != 0) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      msg.append(buf, static_cast<size_t>(n));
    }
    if (msg == "ok\n") {
      std::printf(
          "kvcluster: supervising %zu node%s in the background (pid %d); logs in %s, "
          "stop with kvcluster down\n",
          local_nodes, local_nodes == 1 ? "" : "s", pid, config.state_dir.c_str());
      std::exit(0);
    }
    std::fprintf(stderr, "%s",
                 msg.empty() ? "kvcluster: the background supervisor died\n" : msg.c_str());
    std::exit(1);
  }
  ::close(ready[0]);
  ::setsid();  // no controlling terminal: Ctrl-C in the old shell no longer reaches us
  int devnull = ::open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    ::dup2(devnull, STDIN_FILENO);
    ::dup2(devnull, STDOUT_FILENO);
    ::dup2(devnull, STDERR_FILENO);
    if (devnull > STDERR_FILENO) ::close(devnull);
  }
  return ready[1];
}

void report(int fd, const std::string& text) {
  if (fd < 0) return;
  ssize_t ignored = ::write(fd, text.data(), text.size());
  (void)ignored;
}

// "no node of cluster.json is on this machine (...)": why `up` has nothing to start.
std::string nothing_local(const ClusterConfig& config, const HostLocality& locality) {
  std::string hosts;
  for (const auto& n : config.nodes) {
    hosts += fmt::format("{}{} on {}", hosts.empty() ? "" : ", ", n.name, n.host);
  }
  return fmt::format(
      "no node of {} is on this machine ({}; this machine: {}): nothing to start here "
      "(kvcluster status works from any machine)",
      config.path, hosts, locality.describe());
}

// "node3 (10.0.0.3) runs on another machine: probed, not started".
std::string remote_note(const ClusterConfig& config, const std::set<int>& local) {
  std::string remote;
  for (const auto& n : config.nodes) {
    if (local.count(n.id) == 0) {
      remote += fmt::format("{}{} ({})", remote.empty() ? "" : ", ", n.name, n.host);
    }
  }
  return fmt::format("{} on other machines: probed, not started here", remote);
}

ControlServer::Reply handle_control(Supervisor* sup, net::EventLoop* loop,
                                    const nlohmann::json& req,
                                    const ControlServer::Responder& later) {
  using nlohmann::json;
  std::string cmd = req.is_object() && req.contains("cmd") && req["cmd"].is_string()
                        ? req["cmd"].get<std::string>()
                        : "";
  auto answer = [](const Result<std::string>& r) {
    return r.ok() ? json{{"ok", true}, {"message", r.value()}}
                  : json{{"ok", false}, {"error", r.status().message()}};
  };
  if (cmd == "status") {
    json body = sup->status_json();
    body["ok"] = true;
    return {body, false};
  }
  if (cmd == "reload") return {answer(sup->reload("kvcluster reload", false)), false};
  if (cmd == "restart") {
    std::string node =
        req.contains("node") && req["node"].is_string() ? req["node"].get<std::string>() : "";
    if (!node.empty()) return {answer(sup->restart_node(node)), false};
    // No node: a rolling restart, answered once it is over.
    Status queued = sup->rolling_restart([later](bool ok, const std::string& message) {
      later(ok ? json{{"ok", true}, {"message", message}}
               : json{{"ok", false}, {"error", message}});
    });
    if (!queued.ok()) return {json{{"ok", false}, {"error", queued.message()}}, false};
    return {json(), false, true};
  }
  if (cmd == "down") {
    bool again = sup->stopping_all();
    sup->stop_all([loop] { loop->stop(); });
    return {json{{"ok", true}, {"message", again ? "killing every node now" : "stopping"}}, true};
  }
  return {json{{"ok", false}, {"error", fmt::format("unknown command '{}'", cmd)}}, false};
}

}  // namespace

int run_up(const UpOptions& options) {
  auto loaded = load_cluster_config(options.config_path, options.default_kvstore);
  if (!loaded.ok()) return fail(loaded.status().message());
  ClusterConfig config = std::move(loaded).value();
  auto locality = locality_for(options.local_hosts);
  if (!locality.ok()) return fail(locality.status().message());
  std::set<int> local = local_node_ids(config, *locality);
  if (local.empty()) return fail(nothing_local(config, *locality));

  auto acquired = SupervisorLock::acquire(config);
  if (!acquired.ok()) return fail(acquired.status().message());
  std::optional<SupervisorLock> lock(std::move(acquired).value());
  if (Status s = check_secret_shared(config, local); !s.ok()) return fail(s.message());
  // Under the lock: a first `up` creates .kvcluster/secret, and no second one races it.
  std::string secret;
  if (config.raft()) {
    auto resolved = cluster_secret(config);
    if (!resolved.ok()) return fail(resolved.status().message());
    secret = std::move(resolved).value();
  }
  std::vector<std::string> problems = preflight(config, local);
  if (!problems.empty()) {
    for (const auto& p : problems) std::fprintf(stderr, "kvcluster: %s\n", p.c_str());
    std::fprintf(stderr, "kvcluster: not starting %s (%zu problem%s)\n", config.path.c_str(),
                 problems.size(), problems.size() == 1 ? "" : "s");
    return 1;
  }
  int ready_fd = -1;
  if (options.detach) {
    ready_fd = detach(config, local.size());
    if (ready_fd < 0) return fail(fmt::format("cannot detach: {}", std::strerror(errno)));
    lock->write_pid();
  }

  // Signals become loop events (s6's selfpipe, via signalfd): blocked here, before any child
  // exists, so no SIGCHLD is ever lost. Children get a clean mask back (process_spawner).
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGCHLD, SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, sig);
  ::sigprocmask(SIG_BLOCK, &signals, nullptr);
  int signal_fd = ::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0) {
    std::string msg = fmt::format("signalfd: {}", std::strerror(errno));
    report(ready_fd, "kvcluster: " + msg + "\n");
    return fail(msg);
  }

  net::EventLoop loop;
  MuxOptions mux_options;
  mux_options.out_fd = options.detach ? -1 : STDOUT_FILENO;
  mux_options.color = !options.detach && want_color(STDOUT_FILENO);
  mux_options.log_dir = config.state_dir;
  mux_options.log_max_bytes = config.log_max_bytes;
  OutputMux mux(mux_options);
  auto sup = std::make_unique<Supervisor>(&loop, &mux, config, options.default_kvstore,
                                          std::move(secret), std::move(locality).value());

  std::string socket_path = control_socket_path(config.state_dir);
  auto control = ControlServer::listen(
      &loop, socket_path, [&](const nlohmann::json& req, const ControlServer::Responder& later) {
        return handle_control(sup.get(), &loop, req, later);
      });
  if (!control.ok()) {
    report(ready_fd, "kvcluster: " + control.status().message() + "\n");
    return fail(control.status().message());
  }
  auto watch =
      ConfigWatch::start(&loop, config.path, [&] { (void)sup->reload("file changed", true); });
  if (!watch.ok())
    mux.event(fmt::format("not watching {}: {} (use kvcluster reload)", config.path,
                          watch.status().message()));

  (void)loop.add(signal_fd, EPOLLIN, [&](uint32_t) {
    signalfd_siginfo si{};
    while (::read(signal_fd, &si, sizeof(si)) == static_cast<ssize_t>(sizeof(si))) {
      switch (si.ssi_signo) {
        case SIGCHLD:
          sup->reap_children();
          break;
        case SIGHUP:
          (void)sup->reload("SIGHUP", false);
          break;
        default:
          mux.event(fmt::format("received {}", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM"));
          sup->stop_all([&] { loop.stop(); });
          break;
      }
    }
  });
  // Output is written once per loop iteration, whole lines only.
  loop.set_before_sleep([&] { mux.flush(); });

  mux.event(fmt::format("kvcluster {} (pid {}) supervising {} node{} from {}; logs in {}",
                        KV_VERSION, ::getpid(), local.size(), local.size() == 1 ? "" : "s",
                        config.path, config.state_dir));
  if (local.size() < config.nodes.size()) mux.event(remote_note(config, local));
  for (const auto& warning : locality_warnings(config, local)) mux.event(warning);
  sup->start_all();
  mux.flush();
  report(ready_fd, "ok\n");
  if (ready_fd >= 0) ::close(ready_fd);

  loop.run();

  // Every node has exited; any process-group leftovers were signalled with the node.
  sup->reap_children();
  mux.event("all nodes stopped; bye");
  mux.flush();
  watch = Result<std::unique_ptr<ConfigWatch>>(Status::NotFound("stopped"));
  sup.reset();
  // In this order: a `down` waiting for our EOF may run `up` again at once, and must then
  // find neither our socket file nor our lock.
  (*control)->close_listener();
  lock.reset();
  control = Result<std::unique_ptr<ControlServer>>(Status::NotFound("stopped"));
  ::close(signal_fd);
  return 0;
}

}  // namespace kv::cluster
