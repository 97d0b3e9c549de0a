// ServerConfig: everything a kvstore node is told at start-up (from flags, see main.cc).
// A plain value type; defaults here are the documented defaults of the flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kv::server {

// When a write is acknowledged relative to its fdatasync (like Redis's appendfsync).
enum class FsyncPolicy {
  kAlways,    // reply only after an fdatasync covering the write; writes share fsyncs
  kEverySec,  // write(2) before replying, fdatasync about once a second: may lose ~1 s
  kNo,        // write(2) before replying, never fdatasync: the OS decides what survives
};

std::string_view fsync_policy_name(FsyncPolicy policy);
std::optional<FsyncPolicy> parse_fsync_policy(std::string_view name);

// One member of the Raft group, as named by --peers ("id=host:port").
struct PeerAddress {
  uint64_t id = 0;
  std::string host;
  uint16_t port = 0;
  std::string addr() const { return host + ":" + std::to_string(port); }
};

// Parses "host:port" into out->host and out->port (the id is left alone). Returns "" or
// what is wrong ("host is empty", ...).
std::string parse_address(std::string_view text, PeerAddress* out);

// Parses --peers: "1=127.0.0.1:9001,2=127.0.0.1:9002,...". Returns "" and fills *out, or
// what is wrong (one line, naming the bad item).
std::string parse_peers(std::string_view text, std::vector<PeerAddress>* out);

struct ServerConfig {
  std::string bind = "127.0.0.1";
  uint16_t port = 9001;
  std::string data_dir = "data";
  FsyncPolicy fsync = FsyncPolicy::kAlways;
  size_t max_clients = 10000;
  size_t max_bulk_bytes = 512ull * 1024 * 1024;
  size_t max_args = 1024 * 1024;
  size_t max_request_bytes = 1024ull * 1024 * 1024;
  // Once wal.bin grows past this, the key space is snapshotted and the log trimmed.
  uint64_t snapshot_wal_bytes = 64ull * 1024 * 1024;

  // Replication (Raft). With no other member than itself the node is a standalone
  // one-member group and takes the direct path (no RaftNode at all).
  uint64_t node_id = 1;
  std::vector<PeerAddress> members;  // the whole group, this node included
  std::string cluster_secret;         // peers prove membership with it (KVPEER)
  int tick_ms = 10;
  int election_timeout_ms = 300;
  bool unsafe_local_reads = false;  // testing only: reads skip ReadIndex (not linearizable)
  // --join: a new node for a running cluster. It starts with no configuration and waits for
  // the leader to add it (RAFT ADDLEARNER), instead of forming a group from `members`.
  bool join = false;

  bool raft_enabled() const { return members.size() > 1 || join; }
  const PeerAddress* member(uint64_t id) const {
    for (const auto& m : members) {
      if (m.id == id) return &m;
    }
    return nullptr;
  }
};

}  // namespace kv::server
