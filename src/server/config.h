// ServerConfig: everything a kvstore node is told at start-up (from flags, see main.cc).
// A plain value type; defaults here are the documented defaults of the flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kv::server {

// When a write is acknowledged relative to its fdatasync (like Redis's appendfsync).
enum class FsyncPolicy {
  kAlways,    // reply only after an fdatasync covering the write; writes share fsyncs
  kEverySec,  // write(2) before replying, fdatasync about once a second: may lose ~1 s
  kNo,        // write(2) before replying, never fdatasync: the OS decides what survives
};

std::string_view fsync_policy_name(FsyncPolicy policy);
std::optional<FsyncPolicy> parse_fsync_policy(std::string_view name);

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
};

}  // namespace kv::server
