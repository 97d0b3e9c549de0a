// kvstore: one node. Parses flags, wires Store + Server onto an EventLoop, runs until
// SIGTERM/SIGINT. Exit codes: 0 clean stop, 1 could not start (busy port, locked or corrupt
// data dir, unwritable dir), 2 bad flags.
#include <signal.h>
#include <sys/resource.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "common/logging.h"
#include "net/event_loop.h"
#include "server/config.h"
#include "server/raft_host.h"
#include "server/server.h"
#include "server/store.h"

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "kvstore: %s\n", message.c_str());
  return 1;
}

// Each client is one fd: make sure the limit allows --max-clients of them.
void raise_fd_limit(kv::server::ServerConfig* config) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t want = config->max_clients + 64;
  if (rl.rlim_cur < want) {
    rl.rlim_cur = std::min(want, rl.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur < want) {
    size_t allowed = rl.rlim_cur > 64 ? rl.rlim_cur - 64 : 1;
    kv::log::warn("fd limit {} allows only {} clients; --max-clients lowered from {}", rl.rlim_cur,
                  allowed, config->max_clients);
    config->max_clients = allowed;
  }
}

}  // namespace

int main(int argc, char** argv) {
  kv::server::ServerConfig config;
  std::string fsync = "always";
  std::string log_level = "info";
  CLI::App app{"kvstore: one node of kvcluster, a durable key-value store that speaks the Redis "
               "protocol (RESP2).\nAll state lives in --data-dir: wal.bin (write-ahead log), "
               "snapshot.bin, LOCK.",
               "kvstore"};
  app.set_version_flag("--version", std::string("kvstore ") + KV_VERSION);
  app.add_option("-p,--port", config.port, "TCP port to listen on; 0 lets the OS pick (the "
                 "startup line shows it)")
      ->capture_default_str();
  app.add_option("--bind", config.bind, "Address to listen on")->capture_default_str();
  app.add_option("-d,--data-dir", config.data_dir, "Directory for all of this node's state "
                 "(created with parents if missing; locked while running)")
      ->capture_default_str();
  app.add_option("--fsync", fsync, "When writes are acknowledged: always (after fdatasync; "
                 "nothing acknowledged is lost), everysec (may lose ~1 s on a crash), no (OS "
                 "decides)")
      ->check(CLI::IsMember({"always", "everysec", "no"}))
      ->capture_default_str();
  app.add_option("--max-clients", config.max_clients, "Maximum simultaneous client connections")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-bulk-bytes", config.max_bulk_bytes,
                 "Largest single argument a client may send (e.g. 512MB)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  app.add_option("--max-args", config.max_args, "Most arguments in one request")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-request-bytes", config.max_request_bytes,
                 "Largest whole request a client may send (e.g. 1GB)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  app.add_option("--snapshot-wal-bytes", config.snapshot_wal_bytes,
                 "Snapshot the key space and trim wal.bin once it grows past this (e.g. 64MB)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  std::string peers;
  app.add_option("--id", config.node_id, "This node's id in the Raft group (see --peers)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{UINT32_MAX}))
      ->capture_default_str();
  app.add_option("--peers", peers, "Every member of the replicated group, this node included: "
                 "id=host:port,... (e.g. 1=127.0.0.1:9001,2=127.0.0.1:9002,3=127.0.0.1:9003). "
                 "Without it the node is a standalone one-member group. On a node's first start "
                 "its ids become the group's voters, kept in the log; later --peers only give "
                 "addresses (membership changes go through RAFT ADDLEARNER/PROMOTE/REMOVE)");
  app.add_option("--cluster-secret", config.cluster_secret, "Secret shared by the members; peers "
                 "without it are refused. Default: $KV_CLUSTER_SECRET (preferred: not shown by ps)");
  app.add_option("--tick-ms", config.tick_ms, "Raft clock tick")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--election-timeout-ms", config.election_timeout_ms,
                 "A follower that hears no leader for a random time in [T, 2T) starts an "
                 "election; the leader sends heartbeats every T/6")
      ->check(CLI::Range(10, 60000))
      ->capture_default_str();
  app.add_flag("--join", config.join,
               "This is a new node for a running cluster: start with no configuration and wait "
               "for the leader to add it (RAFT ADDLEARNER, then RAFT PROMOTE). --peers lists the "
               "current members and this node. Ignored once the data dir holds a configuration");
  app.add_flag("--unsafe-local-reads", config.unsafe_local_reads,
               "TESTING ONLY: serve reads from this node's own state with no leader check. "
               "Breaks linearizability on purpose (tools/chaos --unsafe shows the checker catch it)");
  app.add_option("--log-level", log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "kvstore: %s (see kvstore --help)\n", e.what());
    return 2;
  }
  config.fsync = *kv::server::parse_fsync_policy(fsync);
  if (config.join && peers.empty()) {
    std::fprintf(stderr, "kvstore: --join needs --peers (the members to join, and this node)\n");
    return 2;
  }
  if (!peers.empty()) {
    std::string why = kv::server::parse_peers(peers, &config.members);
    if (why.empty() && config.member(config.node_id) == nullptr) {
      why = "this node's --id " + std::to_string(config.node_id) + " is not in the list";
    }
    if (!why.empty()) {
      std::fprintf(stderr, "kvstore: --peers: %s (see kvstore --help)\n", why.c_str());
      return 2;
    }
    if (config.cluster_secret.empty()) {
      const char* env = std::getenv("KV_CLUSTER_SECRET");
      if (env != nullptr) config.cluster_secret = env;
    }
    if (config.raft_enabled() && config.cluster_secret.empty()) {
      std::fprintf(stderr, "kvstore: --peers names other members but there is no cluster secret "
                           "(set --cluster-secret or KV_CLUSTER_SECRET)\n");
      return 2;
    }
    if (config.election_timeout_ms < 3 * config.tick_ms) {
      std::fprintf(stderr, "kvstore: --election-timeout-ms must be at least 3 ticks (--tick-ms)\n");
      return 2;
    }
  }
  using kv::log::Level;
  kv::log::set_min_level(log_level == "debug"  ? Level::kDebug
                         : log_level == "warn" ? Level::kWarn
                         : log_level == "error" ? Level::kError
                                                : Level::kInfo);

  ::signal(SIGPIPE, SIG_IGN);
  // SIGTERM/SIGINT arrive as events on the loop, so shutdown runs in normal code.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  int signal_fd = ::signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);

  raise_fd_limit(&config);

  // Port first: a taken port is refused before the data dir is locked or replayed.
  auto listen_fd = kv::server::Server::bind_listener(config);
  if (!listen_fd.ok()) return fail(listen_fd.status().message());
  auto store = kv::server::Store::open(config);
  if (!store.ok()) return fail(store.status().message());

  kv::net::EventLoop loop;
  kv::server::Server server(config, &loop, store->get(), *listen_fd);
  std::unique_ptr<kv::server::RaftHost> raft;
  if (config.raft_enabled()) {
    raft = std::make_unique<kv::server::RaftHost>(
        config, &loop, store->get(),
        [&server](const kv::server::ReplyTo& to, std::string reply) { server.deliver(to, std::move(reply)); });
    if (kv::Status s = raft->start(); !s.ok()) return fail(s.message());
    server.set_raft(raft.get());
  }
  if (kv::Status s = server.start(); !s.ok()) return fail(s.message());
  bool stopping = false;
  (void)loop.add(signal_fd, EPOLLIN, [&](uint32_t) {
    signalfd_siginfo si{};
    if (::read(signal_fd, &si, sizeof(si)) == sizeof(si)) {
      kv::log::info("received {}, shutting down", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
    }
    // In raft mode the first signal hands leadership over and lets requests in flight finish
    // (a few seconds at most); a second one stops at once.
    if (raft != nullptr && !stopping) {
      stopping = true;
      raft->prepare_shutdown([&loop] { loop.stop(); });
      return;
    }
    loop.stop();
  });

  // The seed's readiness line, kept as is: scripts and kvcluster wait for it.
  std::printf("[node] listening on port %u\n", static_cast<unsigned>(server.port()));
  std::fflush(stdout);
  kv::log::info("data dir {}, fsync {}, {} keys{}", config.data_dir,
                kv::server::fsync_policy_name(config.fsync), (*store)->keys().size(),
                config.raft_enabled() ? fmt::format(", raft node {} of {}", config.node_id, config.members.size()) : std::string());

  loop.run();

  server.shutdown();
  raft.reset();
  (*store)->close();
  kv::log::info("stopped cleanly");
  return 0;
}
