#include "chaos/cluster_json.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace kv::chaos {
namespace {

bool has_nodes(const nlohmann::json& config) {
  return config.is_object() && config.contains("nodes") && config["nodes"].is_array();
}

Status io_error(const std::string& what) {
  return Status::IOError(fmt::format("{}: {}", what, std::strerror(errno)));
}

}  // namespace

nlohmann::json node_entry(const ClusterSpec& spec, int id, uint16_t port) {
  nlohmann::json node = {{"id", id}, {"port", port}, {"data_dir", fmt::format("node{}", id)}};
  if (spec.unsafe_local_reads) node["args"] = {"--unsafe-local-reads"};
  return node;
}

nlohmann::json make_cluster_json(const ClusterSpec& spec, const std::vector<uint16_t>& ports) {
  nlohmann::json nodes = nlohmann::json::array();
  for (int i = 0; i < spec.nodes; ++i) {
    nodes.push_back(node_entry(spec, i + 1, ports.at(static_cast<size_t>(i))));
  }
  return {{"_comment", "written by kv_chaos for one run"},
          {"mode", spec.mode},
          {"kvstore", spec.kvstore},
          {"fsync", "always"},
          // Restart a killed node quickly and never give up on it: the run kills nodes often.
          {"restart",
           {{"initial_backoff_ms", 50},
            {"max_backoff_ms", 500},
            {"healthy_after_ms", 2000},
            {"max_failures", 1000}}},
          {"probe", {{"interval_ms", 200}, {"timeout_ms", 500}, {"failures", 3}}},
          {"stop_timeout_ms", kNodeStopTimeout.count()},
          {"nodes", nodes}};
}

Result<nlohmann::json> with_node_added(const nlohmann::json& config, const nlohmann::json& entry) {
  if (!has_nodes(config)) return Status::InvalidArgument("cluster.json has no \"nodes\" list");
  for (const auto& n : config["nodes"]) {
    for (const char* field : {"id", "port", "data_dir"}) {
      if (n.contains(field) && entry.contains(field) && n[field] == entry[field]) {
        return Status::InvalidArgument(
            fmt::format("node{} already has {} {}", n.value("id", 0), field, n[field].dump()));
      }
    }
  }
  nlohmann::json next = config;
  next["nodes"].push_back(entry);
  return next;
}

Result<nlohmann::json> with_node_removed(const nlohmann::json& config, int id) {
  if (!has_nodes(config)) return Status::InvalidArgument("cluster.json has no \"nodes\" list");
  nlohmann::json nodes = nlohmann::json::array();
  bool found = false;
  for (const auto& n : config["nodes"]) {
    if (n.value("id", 0) == id) {
      found = true;
    } else {
      nodes.push_back(n);
    }
  }
  if (!found) return Status::NotFound(fmt::format("cluster.json has no node{}", id));
  if (nodes.empty()) return Status::InvalidArgument(fmt::format("node{} is the last node", id));
  nlohmann::json next = config;
  next["nodes"] = nodes;
  return next;
}

std::vector<int> node_ids(const nlohmann::json& config) {
  std::vector<int> ids;
  if (!has_nodes(config)) return ids;
  for (const auto& n : config["nodes"]) ids.push_back(n.value("id", 0));
  return ids;
}

Status write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error(tmp);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = io_error(tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status s = io_error(tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = io_error(fmt::format("rename {} -> {}", tmp, path));
    ::unlink(tmp.c_str());
    return s;
  }
  return Status::OK();
}

}  // namespace kv::chaos
