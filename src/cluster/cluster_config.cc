#include "cluster/cluster_config.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cluster/cluster_secret.h"
#include "cluster/host_locality.h"

namespace kv::cluster {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Thrown inside the parser only; parse_cluster_config() turns it into a Status.
struct FieldError {
  std::string field;
  std::string what;
};

[[noreturn]] void fail(std::string field, std::string what) {
  throw FieldError{std::move(field), std::move(what)};
}

std::string show(const json& v) {
  std::string s = v.dump();
  return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

// Rejects misspelled keys: a typo ("prot") must not silently fall back to a default.
// Keys starting with '_' are comments.
void check_keys(const json& obj, const std::string& where,
                std::initializer_list<const char*> known) {
  for (const auto& [key, value] : obj.items()) {
    if (!key.empty() && key[0] == '_') continue;
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    if (!ok) {
      std::string list;
      for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      fail(where.empty() ? key : where + "." + key, "unknown field (known: " + list + ")");
    }
  }
}

int64_t get_int(const json& obj, const char* key, const std::string& field, int64_t lo, int64_t hi,
                int64_t fallback) {
  if (!obj.contains(key)) return fallback;
  const json& v = obj.at(key);
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
    fail(field, fmt::format("must be an integer from {} to {}, got {}", lo, hi, show(v)));
  }
  return v.get<int64_t>();
}

std::string get_string(const json& obj, const char* key, const std::string& field,
                       std::optional<std::string> fallback) {
  if (!obj.contains(key)) {
    if (!fallback) fail(field, "is required");
    return *fallback;
  }
  const json& v = obj.at(key);
  if (!v.is_string() || v.get<std::string>().empty()) {
    fail(field, "must be a non-empty string, got " + show(v));
  }
  return v.get<std::string>();
}

std::chrono::milliseconds get_ms(const json& obj, const char* key, const std::string& field,
                                 std::chrono::milliseconds fallback) {
  return std::chrono::milliseconds(
      get_int(obj, key, field, 1, 24ll * 3600 * 1000, fallback.count()));
}

std::string resolve(const std::string& dir, const std::string& p) {
  fs::path path(p);
  if (path.is_relative()) path = fs::path(dir) / path;
  return path.lexically_normal().string();
}

// Flags kvcluster sets itself from the node's fields; passing them in args would conflict.
// Returns where the value comes from, or nullopt for a flag that is the user's to pass.
std::optional<std::string> managed_flag(const std::string& arg, const std::string& where,
                                        bool raft) {
  static const std::map<std::string, const char*> kManaged = {{"--port", "port"},
                                                              {"-p", "port"},
                                                              {"--data-dir", "data_dir"},
                                                              {"-d", "data_dir"},
                                                              {"--bind", "host"}};
  std::string flag = arg.substr(0, arg.find('='));
  if (auto it = kManaged.find(flag); it != kManaged.end()) return where + "." + it->second;
  if (!raft) return std::nullopt;
  if (flag == "--id") return where + ".id in mode \"raft\"";
  if (flag == "--peers") return "the nodes list in mode \"raft\"";
  if (flag == "--cluster-secret") {
    return "the top-level \"secret\" (or .kvcluster/secret) in mode \"raft\", via "
           "KV_CLUSTER_SECRET";
  }
  return std::nullopt;
}

// The message never quotes the value: error lines end up in logs and terminals.
std::string parse_secret(const json& doc) {
  const json& v = doc.at("secret");
  if (!v.is_string() || v.get<std::string>().empty()) {
    fail("secret", "must be a non-empty string");
  }
  std::string secret = v.get<std::string>();
  if (std::string problem = secret_problem(secret); !problem.empty()) fail("secret", problem);
  return secret;
}

NodeSpec parse_node(const json& n, const std::string& where, const std::string& dir, bool raft) {
  if (!n.is_object())
    fail(where, "must be an object like {\"id\": 1, \"port\": 9001, \"data_dir\": \"node1\"}");
  check_keys(n, where, {"id", "host", "port", "data_dir", "args"});
  NodeSpec node;
  if (!n.contains("id")) fail(where + ".id", "is required");
  node.id = static_cast<int>(get_int(n, "id", where + ".id", 1, 1000000, 0));
  node.name = node_name(node.id);
  if (!n.contains("port")) fail(where + ".port", "is required");
  node.port = static_cast<uint16_t>(get_int(n, "port", where + ".port", 1, 65535, 0));
  node.host = get_string(n, "host", where + ".host", "127.0.0.1");
  node.data_dir = resolve(dir, get_string(n, "data_dir", where + ".data_dir", std::nullopt));
  if (n.contains("args")) {
    const json& args = n.at("args");
    if (!args.is_array()) fail(where + ".args", "must be an array of strings, got " + show(args));
    for (size_t i = 0; i < args.size(); ++i) {
      std::string field = fmt::format("{}.args[{}]", where, i);
      if (!args[i].is_string()) fail(field, "must be a string, got " + show(args[i]));
      std::string arg = args[i].get<std::string>();
      if (auto source = managed_flag(arg, where, raft)) {
        // The flag without its value: "--cluster-secret=S" must not print S.
        fail(field,
             fmt::format("{} is set by kvcluster from {}", arg.substr(0, arg.find('=')), *source));
      }
      node.args.push_back(arg);
    }
  }
  return node;
}

// The host as compared for conflicts: numeric addresses canonical, localhost as 127.0.0.1.
std::string host_key(const std::string& host) {
  if (host == "localhost") return "127.0.0.1";
  std::string numeric = canonical_address(host);
  return numeric.empty() ? host : numeric;
}

bool is_wildcard(const std::string& host) {
  std::string key = host_key(host);
  return key == "0.0.0.0" || key == "::";
}

// Two nodes on different hosts may share a port (one per machine, or two loopback addresses),
// unless one listens on every address of its machine.
bool ports_clash(const NodeSpec& a, const NodeSpec& b) {
  return a.port == b.port &&
         (host_key(a.host) == host_key(b.host) || is_wildcard(a.host) || is_wildcard(b.host));
}

// The same data_dir is fine on two machines; two hosts that both mean "this machine" share one.
bool dirs_clash(const NodeSpec& a, const NodeSpec& b) {
  return a.data_dir == b.data_dir &&
         (host_key(a.host) == host_key(b.host) ||
          (is_loopback_or_wildcard(a.host) && is_loopback_or_wildcard(b.host)));
}

void check_unique(const std::vector<NodeSpec>& nodes) {
  for (size_t i = 0; i < nodes.size(); ++i) {
    const NodeSpec& n = nodes[i];
    for (size_t j = 0; j < i; ++j) {
      if (n.id == nodes[j].id) {
        fail(fmt::format("nodes[{}].id", i), fmt::format("{} is used by nodes[{}]", n.id, j));
      }
    }
    for (size_t j = 0; j < i; ++j) {
      if (ports_clash(n, nodes[j])) {
        fail(fmt::format("nodes[{}].port", i), fmt::format("{} is used by nodes[{}]", n.port, j));
      }
    }
    for (size_t j = 0; j < i; ++j) {
      if (dirs_clash(n, nodes[j])) {
        fail(fmt::format("nodes[{}].data_dir", i),
             fmt::format("{} is used by nodes[{}]", n.data_dir, j));
      }
    }
  }
}

void parse_restart(const json& r, RestartSettings* s) {
  if (!r.is_object()) fail("restart", "must be an object, got " + show(r));
  check_keys(r, "restart",
             {"initial_backoff_ms", "max_backoff_ms", "healthy_after_ms", "max_failures"});
  s->initial_backoff =
      get_ms(r, "initial_backoff_ms", "restart.initial_backoff_ms", s->initial_backoff);
  s->max_backoff = get_ms(r, "max_backoff_ms", "restart.max_backoff_ms", s->max_backoff);
  s->healthy_after = get_ms(r, "healthy_after_ms", "restart.healthy_after_ms", s->healthy_after);
  s->max_failures = static_cast<int>(
      get_int(r, "max_failures", "restart.max_failures", 0, 1000, s->max_failures));
  if (s->max_backoff < s->initial_backoff) {
    fail("restart.max_backoff_ms", fmt::format("{} is less than restart.initial_backoff_ms ({})",
                                               s->max_backoff.count(), s->initial_backoff.count()));
  }
}

void parse_probe(const json& p, ProbeSettings* s) {
  if (!p.is_object()) fail("probe", "must be an object, got " + show(p));
  check_keys(p, "probe", {"interval_ms", "timeout_ms", "failures"});
  s->interval = get_ms(p, "interval_ms", "probe.interval_ms", s->interval);
  s->timeout = get_ms(p, "timeout_ms", "probe.timeout_ms", s->timeout);
  s->failures = static_cast<int>(get_int(p, "failures", "probe.failures", 1, 1000, s->failures));
}

ClusterConfig parse_document(const json& doc, const std::string& path,
                             const std::string& default_kvstore) {
  if (!doc.is_object()) fail("(top level)", "must be an object with a \"nodes\" array");
  check_keys(doc, "",
             {"nodes", "mode", "secret", "kvstore", "fsync", "restart", "probe", "stop_timeout_ms",
              "log_max_bytes"});
  ClusterConfig c;
  c.path = path;
  c.dir = config_dir(path);
  c.state_dir = state_dir_for(path);
  c.mode = get_string(doc, "mode", "mode", kModeIndependent);
  if (c.mode != kModeRaft && c.mode != kModeIndependent) {
    fail("mode", "must be \"raft\" or \"independent\", got " + show(doc.at("mode")));
  }
  if (doc.contains("secret")) c.secret = parse_secret(doc);
  c.kvstore = doc.contains("kvstore")
                  ? resolve(c.dir, get_string(doc, "kvstore", "kvstore", std::nullopt))
                  : default_kvstore;
  if (doc.contains("fsync")) {
    std::string f = get_string(doc, "fsync", "fsync", std::nullopt);
    if (f != "always" && f != "everysec" && f != "no") {
      fail("fsync", "must be \"always\", \"everysec\" or \"no\", got " + show(doc.at("fsync")));
    }
    c.fsync = f;
  }
  if (doc.contains("restart")) parse_restart(doc.at("restart"), &c.restart);
  if (doc.contains("probe")) parse_probe(doc.at("probe"), &c.probe);
  c.stop_timeout = get_ms(doc, "stop_timeout_ms", "stop_timeout_ms", c.stop_timeout);
  c.log_max_bytes =
      static_cast<uint64_t>(get_int(doc, "log_max_bytes", "log_max_bytes", 4096, int64_t{1} << 40,
                                    static_cast<int64_t>(c.log_max_bytes)));
  if (!doc.contains("nodes")) fail("nodes", "is required (an array of nodes)");
  const json& nodes = doc.at("nodes");
  if (!nodes.is_array()) fail("nodes", "must be an array, got " + show(nodes));
  if (nodes.empty()) fail("nodes", "is empty: a cluster needs at least one node");
  for (size_t i = 0; i < nodes.size(); ++i) {
    c.nodes.push_back(parse_node(nodes[i], fmt::format("nodes[{}]", i), c.dir, c.raft()));
  }
  check_unique(c.nodes);
  return c;
}

// nlohmann reports the byte offset just past the error; turn it into line:column.
std::string line_and_column(std::string_view text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i + 1 < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return fmt::format("line {}, column {}", line, col);
}

}  // namespace

std::string config_dir(const std::string& config_path) {
  std::string dir = fs::absolute(fs::path(config_path)).parent_path().lexically_normal().string();
  if (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

std::string state_dir_for(const std::string& config_path) {
  std::string dir = config_dir(config_path);
  return dir == "/" ? "/.kvcluster" : dir + "/.kvcluster";
}

std::string node_name(int id) { return fmt::format("node{}", id); }

const NodeSpec* ClusterConfig::find(int id) const {
  for (const auto& n : nodes) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

std::vector<std::string> ClusterConfig::command(const NodeSpec& node) const {
  std::vector<std::string> argv = {kvstore, "--port", std::to_string(node.port), "--data-dir",
                                   node.data_dir};
  if (node.host != "127.0.0.1") {
    argv.push_back("--bind");
    argv.push_back(node.host);
  }
  if (raft()) {
    argv.insert(argv.end(), {"--id", std::to_string(node.id), "--peers", peers_flag()});
  }
  bool has_fsync = false;
  for (const auto& a : node.args) has_fsync = has_fsync || a.rfind("--fsync", 0) == 0;
  if (fsync && !has_fsync) {
    argv.push_back("--fsync");
    argv.push_back(*fsync);
  }
  argv.insert(argv.end(), node.args.begin(), node.args.end());
  return argv;
}

std::string ClusterConfig::peers_flag() const {
  std::string list;
  for (const auto& n : nodes) {
    list += fmt::format("{}{}={}:{}", list.empty() ? "" : ",", n.id, probe_host(n), n.port);
  }
  return list;
}

std::string ClusterConfig::probe_host(const NodeSpec& node) {
  if (node.host == "0.0.0.0") return "127.0.0.1";
  if (node.host == "::") return "::1";
  return node.host;
}

Result<ClusterConfig> parse_cluster_config(std::string_view text, const std::string& path,
                                           const std::string& default_kvstore) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 3, column 5: syntax error ..."
    auto colon = what.find(": ");
    std::string reason = colon == std::string::npos ? what : what.substr(colon + 2);
    return Status::InvalidArgument(
        fmt::format("{}: {}: {}", path, line_and_column(text, e.byte), reason));
  }
  try {
    return parse_document(doc, path, default_kvstore);
  } catch (const FieldError& e) {
    return Status::InvalidArgument(fmt::format("{}: {}: {}", path, e.field, e.what));
  }
}

Result<ClusterConfig> load_cluster_config(const std::string& path,
                                          const std::string& default_kvstore) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::IOError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_cluster_config(ss.str(), path, default_kvstore);
}

std::string ConfigDiff::summary() const {
  std::string s;
  auto add = [&](char sign, const std::vector<int>& ids) {
    for (int id : ids) s += fmt::format("{}{}{}", s.empty() ? "" : " ", sign, node_name(id));
  };
  add('+', added);
  add('-', removed);
  add('~', changed);
  return s.empty() ? "no node changes" : s;
}

ConfigDiff diff_configs(const ClusterConfig& before, const ClusterConfig& after, bool restart_all) {
  ConfigDiff d;
  for (const auto& n : after.nodes) {
    const NodeSpec* old = before.find(n.id);
    if (old == nullptr) {
      d.added.push_back(n.id);
    } else if (restart_all || before.command(*old) != after.command(n) || old->host != n.host) {
      d.changed.push_back(n.id);
    }
  }
  for (const auto& n : before.nodes) {
    if (after.find(n.id) == nullptr) d.removed.push_back(n.id);
  }
  return d;
}

}  // namespace kv::cluster
