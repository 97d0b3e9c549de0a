// Server: the kvstore node's network side. Accepts connections on the event loop, parses
// pipelined RESP requests, runs them through the command table against the Store, and
// releases replies in the loop's pre-sleep hook only after Store::sync_for_replies() (group
// commit: every write of one loop iteration shares one fdatasync).
// Single-threaded: everything runs on the EventLoop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "net/event_loop.h"
#include "server/config.h"
#include "server/connection.h"
#include "server/raft_host.h"
#include "server/store.h"

namespace kv::server {

struct ServerStats {
  uint64_t connections_received = 0;
  uint64_t connections_rejected = 0;
  uint64_t commands_processed = 0;
  uint64_t protocol_errors = 0;
};

class Server {
 public:
  // Binds the listening socket before anything else happens, so a taken port fails fast
  // (Busy) without touching the data dir. Returns the non-blocking listening fd.
  static Result<int> bind_listener(const ServerConfig& config);

  // Takes ownership of listen_fd (from bind_listener).
  Server(ServerConfig config, net::EventLoop* loop, Store* store, int listen_fd);
  ~Server();

  // Raft mode: the host that replicates writes and confirms reads (set before start()).
  void set_raft(RaftHost* raft);
  RaftHost* raft() const { return raft_; }
  // A deferred reply is ready (RaftHost calls this): queued behind earlier replies.
  void deliver(const ReplyTo& to, std::string reply);

  // Starts accepting connections and installs the loop's before-sleep hook and timers.
  Status start();
  // The port actually bound (resolves --port 0).
  uint16_t port() const { return port_; }
  // Stops accepting, flushes what can be flushed, closes every connection.
  void shutdown();

  // Used by connection/server commands.
  const ServerConfig& config() const { return config_; }
  Store& store() { return *store_; }
  const ServerStats& stats() const { return stats_; }
  size_t connected_clients() const { return clients_; }
  std::chrono::steady_clock::time_point started_at() const { return started_at_; }
  std::string info(std::string_view section) const;

 private:
  void arm_tick();
  void on_accept();
  void on_event(int fd, uint32_t events);
  void on_readable(Connection* conn);
  void execute(Connection* conn, std::vector<std::string>& args);
  bool execute_peer_command(Connection* conn, std::vector<std::string>& args);
  bool execute_admin_command(Connection* conn, std::vector<std::string>& args);
  std::string* reply_buffer(Connection* conn);
  ReplyTo open_slot(Connection* conn);
  void drain_slots(Connection* conn);
  void queue_output(Connection* conn);
  void flush_outputs();      // the pre-sleep hook's second half
  void write_output(Connection* conn);
  void update_interest(Connection* conn);
  void close_connection(Connection* conn);
  Connection* find(int fd) { return static_cast<size_t>(fd) < conns_.size() ? conns_[fd].get() : nullptr; }

  ServerConfig config_;
  net::EventLoop* loop_;
  Store* store_;
  RaftHost* raft_ = nullptr;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<Connection>> conns_;  // indexed by fd
  size_t clients_ = 0;
  uint64_t next_client_id_ = 1;
  std::vector<std::pair<int, uint64_t>> pending_;   // (fd, id) with output to write
  std::vector<char> read_buf_;
  uint64_t tick_timer_ = 0;
  ServerStats stats_;
  std::chrono::steady_clock::time_point started_at_;
};

}  // namespace kv::server
