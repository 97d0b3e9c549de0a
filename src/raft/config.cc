#include "raft/config.h"

namespace kv::raft {

std::string Config::validate() const {
  if (heartbeat_interval < 1) return "heartbeat_interval must be at least 1 tick";
  if (election_timeout_min <= heartbeat_interval) {
    return "election_timeout_min must exceed heartbeat_interval";
  }
  if (election_timeout_max <= election_timeout_min) {
    return "election_timeout_max must exceed election_timeout_min";
  }
  if (max_entries_per_append < 1) return "max_entries_per_append must be at least 1";
  if (max_inflight_appends < 1) return "max_inflight_appends must be at least 1";
  if (snapshot_chunk_bytes < 1) return "snapshot_chunk_bytes must be at least 1";
  return "";
}

}  // namespace kv::raft
