#include "cluster/status_view.h"

#include <fmt/format.h>

#include <map>
#include <vector>

namespace kv::cluster {
namespace {

std::string text(const nlohmann::json& v, const std::string& none = "-") {
  if (v.is_null()) return none;
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string info_field(const nlohmann::json& info, const char* key) {
  return info.is_object() && info.contains(key) ? text(info.at(key)) : "-";
}

// host:port, with an IPv6 host in brackets.
std::string address(const nlohmann::json& node) {
  std::string host = node.value("host", "127.0.0.1");
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + text(node.at("port"));
}

}  // namespace

nlohmann::json shown_info(const std::map<std::string, std::string>& info) {
  static const char* const kShown[] = {"process_id",
                                       "uptime_in_seconds",
                                       "connected_clients",
                                       "used_memory",
                                       "used_memory_rss",
                                       "loading",
                                       "wal_bytes",
                                       "wal_last_index",
                                       "db0",
                                       "role",
                                       "node_id",
                                       "term",
                                       "leader_id",
                                       "leader_addr",
                                       "commit_index",
                                       "last_applied",
                                       "applied_index",
                                       "last_index",
                                       "members",
                                       "voters",
                                       "learners",
                                       "config_pending"};
  nlohmann::json shown = nlohmann::json::object();
  for (const char* key : kShown) {
    if (auto it = info.find(key); it != info.end()) shown[key] = it->second;
  }
  return shown;
}

std::string leader_from_info(const nlohmann::json& info) {
  std::string id = info_field(info, "leader_id");
  if (id == "-" || id.empty() || id == "0") return "-";
  if (id.find_first_not_of("0123456789") != std::string::npos) return id;
  return "node" + id;
}

std::string format_duration(int64_t s) {
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

std::string keys_from_info(const nlohmann::json& info) {
  if (!info.is_object() || info.empty()) return "-";
  if (!info.contains("db0")) return "0";
  std::string db0 = text(info.at("db0"));
  auto pos = db0.find("keys=");
  if (pos == std::string::npos) return "-";
  auto end = db0.find(',', pos);
  return db0.substr(pos + 5, end == std::string::npos ? std::string::npos : end - pos - 5);
}

std::string format_columns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string format_status_table(const nlohmann::json& status) {
  const nlohmann::json& nodes = status.at("nodes");
  bool raft = false, hosts = false;
  for (const auto& n : nodes) {
    raft = raft || (n.contains("info") && n["info"].contains("role"));
    hosts = hosts || n.value("host", "127.0.0.1") != "127.0.0.1";
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {
      "NODE", hosts ? "ADDRESS" : "PORT", "PID", "STATE", "UPTIME", "RESTARTS", "LAST EXIT",
      "KEYS"};
  if (raft) header.insert(header.end(), {"ROLE", "TERM", "LEADER", "COMMIT"});
  rows.push_back(header);
  std::string notes;
  for (const auto& n : nodes) {
    const nlohmann::json info = n.value("info", nlohmann::json::object());
    std::vector<std::string> row = {
        text(n.at("name")),
        hosts ? address(n) : text(n.at("port")),
        text(n.at("pid")),
        text(n.at("state")),
        n.at("uptime_s").is_null() ? "-" : format_duration(n.at("uptime_s").get<int64_t>()),
        text(n.at("restarts")),
        text(n.at("last_exit")),
        keys_from_info(info)};
    if (raft) {
      row.push_back(info_field(info, "role"));
      row.push_back(info_field(info, "term"));
      row.push_back(leader_from_info(info));
      row.push_back(info_field(info, "commit_index"));
    }
    rows.push_back(row);
    std::string state = text(n.at("state"));
    if (n.contains("reason")) notes += fmt::format("{}: {}\n", text(n["name"]), text(n["reason"]));
    if (state == "unresponsive" && n.contains("probe_error")) {
      notes += fmt::format("{}: not answering PING: {}\n", text(n["name"]), text(n["probe_error"]));
    }
    if ((state == "remote" || state == "down") && !n.value("answering", false)) {
      notes += fmt::format("{}: {}no answer{}\n", text(n["name"]),
                           state == "remote" ? "on another machine, " : "",
                           n.contains("probe_error") ? ": " + text(n["probe_error"]) : " yet");
    }
    if (n.contains("change")) {
      static const std::map<std::string, std::string> kChanges = {
          {"joining", "joining the group (a learner until it caught up, then a voter)"},
          {"leaving", "leaving the group"},
          {"restarting", "restarting, one node at a time"}};
      std::string change = text(n["change"]);
      auto it = kChanges.find(change);
      notes += fmt::format("{}: {}\n", text(n["name"]), it == kChanges.end() ? change : it->second);
    }
    if (state == "backoff" && n.contains("restart_in_ms")) {
      notes += fmt::format("{}: restarting after a {} ms backoff\n", text(n["name"]),
                           text(n["restart_in_ms"]));
    }
  }
  const nlohmann::json* sup = status.contains("supervisor") && status["supervisor"].is_object()
                                  ? &status["supervisor"]
                                  : nullptr;
  if (sup != nullptr && sup->contains("changes") && (*sup)["changes"].is_array()) {
    for (const auto& c : (*sup)["changes"]) notes += "change: " + text(c) + "\n";
  }
  return format_columns(rows) + notes;
}

nlohmann::json node_spec_json(const NodeSpec& spec) {
  nlohmann::json j;
  j["id"] = spec.id;
  j["name"] = spec.name;
  j["host"] = spec.host;
  j["port"] = spec.port;
  j["data_dir"] = spec.data_dir;
  return j;
}

}  // namespace kv::cluster
