// How `kvcluster status` shows the supervisor's status document (see Supervisor::status_json)
// to a person: one aligned row per node, then a line per node that needs attention. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "cluster/cluster_config.h"

namespace kv::cluster {

// The fields every status row starts with, from the node's cluster.json entry: id, name,
// host, port, data_dir.
nlohmann::json node_spec_json(const NodeSpec& spec);
// 42s, 5m03s, 2h05m, 3d04h.
std::string format_duration(int64_t seconds);
// The table, ending in '\n'. The PORT column becomes ADDRESS (host:port) when some node has a
// host other than 127.0.0.1. Nodes that need attention get a line each after the table.
std::string format_status_table(const nlohmann::json& status);
// The INFO fields a status row carries (what an operator looks at, not all of INFO).
nlohmann::json shown_info(const std::map<std::string, std::string>& info);
// Keys in the node's key space from its INFO fields ("db0": "keys=3,..."), or "-" if unknown.
std::string keys_from_info(const nlohmann::json& info);
// The LEADER cell from a node's INFO fields: "node1" for leader_id:1; "-" when unknown
// (leader_id:0, or no such field).
std::string leader_from_info(const nlohmann::json& info);
// Pads rows of cells into aligned columns (two spaces apart).
std::string format_columns(const std::vector<std::vector<std::string>>& rows);

}  // namespace kv::cluster
