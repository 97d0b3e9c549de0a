// INFO: the node describes itself as Redis does, "# Section" headers and field:value
// lines joined with CRLF, so tools that parse Redis's INFO parse ours.
#include <unistd.h>

#include <fmt/core.h>

#include <fstream>

#include "server/server.h"

namespace kv::server {
namespace {

size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

std::string Server::info(std::string_view section) const {
  bool all = section == "default" || section == "all" || section == "everything";
  std::string s;
  auto header = [&](std::string_view name) {
    if (!s.empty()) s += "\r\n";
    s += fmt::format("# {}\r\n", name);
  };
  auto field = [&](std::string_view name, const auto& value) { s += fmt::format("{}:{}\r\n", name, value); };
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                 started_at_).count();
  const StoreStats& st = store_->stats();

  if (all || section == "server") {
    header("Server");
    field("redis_version", "7.0.15");
    field("kvstore_version", KV_VERSION);
    field("redis_mode", "standalone");
    field("process_id", ::getpid());
    field("tcp_port", port_);
    field("uptime_in_seconds", uptime);
  }
  if (all || section == "clients") {
    header("Clients");
    field("connected_clients", clients_);
    field("maxclients", config_.max_clients);
  }
  if (all || section == "memory") {
    header("Memory");
    field("used_memory", store_->keys().memory_bytes());
    field("used_memory_rss", resident_bytes());
    field("keyspace_buckets", store_->keys().bucket_count());
    field("keyspace_rehashing", store_->keys().rehashing() ? 1 : 0);
  }
  if (all || section == "persistence") {
    header("Persistence");
    field("loading", 0);
    field("data_dir", store_->data_dir());
    field("appendonly", 1);
    field("appendfsync", fsync_policy_name(store_->fsync_policy()));
    field("wal_bytes", store_->wal_bytes());
    field("wal_last_index", store_->last_index());
    field("wal_fsyncs", st.fsyncs);
    field("snapshot_index", store_->snapshot_index());
    field("snapshot_in_progress", store_->snapshot_in_progress() ? 1 : 0);
    field("snapshots_taken", st.snapshots_taken);
    field("snapshots_failed", st.snapshots_failed);
    field("recovery_ms", st.recovery_time.count());
    field("recovered_wal_records", st.recovered_records);
    field("recovered_torn_tail", st.recovered_torn_tail ? 1 : 0);
  }
  if (all || section == "stats") {
    header("Stats");
    field("total_connections_received", stats_.connections_received);
    field("total_commands_processed", stats_.commands_processed);
    field("rejected_connections", stats_.connections_rejected);
    field("total_protocol_errors", stats_.protocol_errors);
  }
  if (all || section == "raft") {
    header("Raft");
    if (raft_ != nullptr) {
      s += raft_->info_fields();
    } else {
      // A standalone node is a one-member Raft group: always its own leader, in term 1,
      // and everything it has logged is committed and applied.
      field("role", "leader");
      field("node_id", config_.node_id);
      field("term", 1);
      field("leader_id", config_.node_id);
      field("leader_addr", fmt::format("{}:{}", config_.bind, port_));
      field("commit_index", store_->last_index());
      field("applied_index", store_->last_index());
      field("last_index", store_->last_index());
      field("snapshot_index", store_->snapshot_index());
      field("members", 1);
    }
  }
  if (all || section == "keyspace") {
    header("Keyspace");
    size_t keys = store_->keys().size();
    if (keys > 0) field("db0", fmt::format("keys={},expires=0,avg_ttl=0", keys));
  }
  return s;
}

}  // namespace kv::server
