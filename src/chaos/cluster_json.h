// The cluster.json of a chaos run: the file written at the start, and the edits a membership
// fault makes to it while kvcluster runs (a node added, a node removed), which kvcluster turns
// into Raft membership changes when it sees the file change. Pure JSON in and out, plus one
// atomic file write. Not thread-safe by itself: the ClusterDriver serializes edits.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace kv::chaos {

struct ClusterSpec {
  std::string mode = "raft";  // "raft" or "independent"
  int nodes = 3;
  bool unsafe_local_reads = false;  // --unsafe-local-reads on every node (breaks reads on purpose)
  std::string kvcluster;            // binary paths, absolute
  std::string kvstore;
};

// stop_timeout_ms of the file: how long kvcluster waits for a stopped node before SIGKILL.
inline constexpr std::chrono::milliseconds kNodeStopTimeout{3000};

// The cluster.json for spec and ports (node i gets ports[i], id i + 1, data dir "node<id>"):
// fsync always, quick restarts that never give up, frequent probes, a short stop timeout.
// REQUIRES: ports.size() == spec.nodes.
nlohmann::json make_cluster_json(const ClusterSpec& spec, const std::vector<uint16_t>& ports);

// The node entry make_cluster_json writes for id: port, data dir "node<id>", and the args
// the spec asks of every node.
nlohmann::json node_entry(const ClusterSpec& spec, int id, uint16_t port);

// config with `entry` appended to "nodes". InvalidArgument when config has no node list, or
// when a node already has the entry's id, port or data dir (kvcluster would reject the file;
// a membership fault never reuses any of them).
Result<nlohmann::json> with_node_added(const nlohmann::json& config, const nlohmann::json& entry);
// config without node id. NotFound when there is no such node; InvalidArgument when it is
// the last one.
Result<nlohmann::json> with_node_removed(const nlohmann::json& config, int id);
// The ids of config's nodes, in file order.
std::vector<int> node_ids(const nlohmann::json& config);

// Replaces path with text the way editors save: a temp file in the same directory, fsynced,
// then renamed over path, so a reader (kvcluster's file watch) sees the old or the new file,
// never half of one.
Status write_file_atomically(const std::string& path, const std::string& text);

}  // namespace kv::chaos
