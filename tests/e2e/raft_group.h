// RaftGroup: a Raft group of real kvstore processes for end-to-end tests, and the pipelined
// client helpers those tests share. Header-only; every function is inline.
#pragma once

#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/harness.h"

namespace kv::e2e {

using kv::protocol::Reply;


inline constexpr char kSecret[] = "e2e-raft-secret";

inline uint64_t number_field(const std::string& info, const std::string& field) {
  auto v = info_field(info, field);
  REQUIRE_MESSAGE(v.has_value(), "INFO has no " << field << ":\n" << info);
  return std::stoull(*v);
}

// Sends every command pipelined, then reads the replies in order. REQUIRE-fails on a broken
// connection or timeout (an error reply is returned, not failed).
inline std::vector<Reply> pipeline(kv::client::Client& c,
                            const std::vector<std::vector<std::string>>& cmds) {
  std::vector<Reply> replies;
  for (size_t start = 0; start < cmds.size(); start += 500) {
    size_t end = std::min(cmds.size(), start + 500);
    for (size_t i = start; i < end; ++i) REQUIRE(c.send(cmds[i]).ok());
    for (size_t i = start; i < end; ++i) {
      auto r = c.read_reply();
      REQUIRE_MESSAGE(r.ok(), cmds[i][0] << " " << (cmds[i].size() > 1 ? cmds[i][1] : "") << ": "
                                         << r.status().ToString());
      replies.push_back(std::move(r).value());
    }
  }
  return replies;
}

// SETs every key of kvs through c (pipelined); each must be acknowledged with +OK.
inline void set_all(kv::client::Client& c, const std::map<std::string, std::string>& kvs) {
  std::vector<std::vector<std::string>> cmds;
  for (const auto& [k, v] : kvs) cmds.push_back({"SET", k, v});
  auto replies = pipeline(c, cmds);
  for (size_t i = 0; i < replies.size(); ++i) {
    INFO("SET " << cmds[i][1] << " replied " << replies[i].to_display());
    REQUIRE(replies[i].type == Reply::Type::kSimpleString);
    REQUIRE(replies[i].str == "OK");
  }
}

// GETs every key of expected through c (pipelined) and returns how many differ (a value of
// "" in expected means the key must not exist); the first few are reported.
inline size_t count_wrong(kv::client::Client& c, const std::map<std::string, std::string>& expected) {
  std::vector<std::vector<std::string>> cmds;
  for (const auto& kv : expected) cmds.push_back({"GET", kv.first});
  auto replies = pipeline(c, cmds);
  size_t wrong = 0, i = 0;
  for (const auto& [key, value] : expected) {
    const Reply& r = replies[i++];
    bool ok = value.empty() ? r.type == Reply::Type::kNil
                            : (r.type == Reply::Type::kBulkString && r.str == value);
    if (!ok && ++wrong <= 5) {
      MESSAGE("GET " << key << ": expected " << (value.empty() ? "(nil)" : "'" + value + "'")
                     << ", got " << r.to_display());
    }
  }
  return wrong;
}

// A connection to port on which reads are served from the node's local state (READONLY).
inline kv::client::Client readonly_client(uint16_t port) {
  auto c = connect_client(port);
  Reply r = must_call(c, {"READONLY"});
  REQUIRE_MESSAGE(r.type == Reply::Type::kSimpleString, "READONLY replied " << r.to_display());
  CHECK(r.str == "OK");
  return c;
}

// How a node of a RaftGroup gets its cluster secret.
struct SecretSource {
  std::string secret = kSecret;
  bool via_env = false;  // KV_CLUSTER_SECRET instead of --cluster-secret
};

// A Raft group of kvstore processes on loopback ports picked at run time. Node ids are
// 1..size; node i keeps its data in <tmp>/node<i> and its port across restarts. Owns every
// process it starts (killed by pid in Process's destructor, before the TempDir goes).
class RaftGroup {
 public:
  explicit RaftGroup(int size, std::vector<std::string> extra_flags = {},
                     std::map<int, SecretSource> secrets = {})
      : size_(size),
        ports_(pick_free_ports(size)),
        extra_(std::move(extra_flags)),
        secrets_(std::move(secrets)),
        procs_(size + 1),
        starts_(size + 1, 0) {
    for (int id = 1; id <= size_; ++id) {
      if (!peers_.empty()) peers_ += ",";
      peers_ += std::to_string(id) + "=127.0.0.1:" + std::to_string(port(id));
    }
    // All at once, then wait: a node needs its peers to elect anyone, not to listen.
    for (int id = 1; id <= size_; ++id) spawn(id);
    for (int id = 1; id <= size_; ++id) await_listening(id);
  }

  int size() const { return size_; }
  uint16_t port(int id) const { return ports_.at(id - 1); }
  std::string data_dir(int id) const { return tmp_.sub("node" + std::to_string(id)); }
  bool is_up(int id) { return procs_[id] && procs_[id]->running(); }

  // (Re)starts node id with the same flags, port and data dir; waits for its listening line.
  void start(int id) {
    REQUIRE_MESSAGE(!is_up(id), "node " << id << " is already running");
    spawn(id);
    await_listening(id);
  }

  // Starts a new node (id size()+1) with --join on a fresh port: it knows the members but is
  // in no configuration until the leader adds it (RAFT ADDLEARNER). Returns its id.
  int add_joiner() {
    const int id = ++size_;
    ports_.push_back(pick_free_ports(1).at(0));
    procs_.resize(size_ + 1);
    starts_.resize(size_ + 1, 0);
    joiners_.insert(id);
    spawn(id);
    await_listening(id);
    return id;
  }

  // Later starts of every node pass a --peers that also names node id at port (a node that
  // may not run): what an operator's edit of the member list between two starts does.
  void name_in_peers(int id, uint16_t port) {
    peers_ += "," + std::to_string(id) + "=127.0.0.1:" + std::to_string(port);
  }

  // SIGTERM (a graceful stop), then reap; returns the exit code (-1: did not exit in time).
  int stop(int id) {
    REQUIRE(is_up(id));
    procs_[id]->signal(SIGTERM);
    return procs_[id]->wait_exit(15s).value_or(-1);
  }

  // The log of node id's current (or last) run.
  std::string log(int id) { return procs_[id] ? procs_[id]->log() : std::string(); }

  // SIGKILL, then reap. The Process (and its log) stays around for reports.
  void kill(int id) {
    REQUIRE(is_up(id));
    procs_[id]->signal(SIGKILL);
    REQUIRE(procs_[id]->wait_exit() == 128 + SIGKILL);
  }

  // INFO raft of node id (REQUIRE-fails if it does not answer).
  std::string raft_info(int id) {
    auto info = try_node_info(port(id), "raft", 5s);
    REQUIRE_MESSAGE(info.has_value(), "node " << id << " did not answer INFO raft\n" << report());
    return *info;
  }

  // Polls INFO raft of every running node (of `among`, if given) until exactly one says
  // role:leader and each of the others says role:follower with that leader_id; returns the
  // leader's id.
  int wait_for_leader(std::chrono::milliseconds timeout = 10s, std::set<int> among = {}) {
    int leader = 0;
    bool agreed = eventually(
        [&] {
          leader = 0;
          std::map<int, std::pair<std::string, uint64_t>> view;  // id -> (role, leader_id)
          for (int id = 1; id <= size_; ++id) {
            if (!is_up(id) || (!among.empty() && !among.count(id))) continue;
            auto info = try_node_info(port(id), "raft");
            if (!info) return false;
            auto role = info_field(*info, "role");
            auto leader_id = info_field(*info, "leader_id");
            if (!role || !leader_id) return false;
            view[id] = {*role, std::stoull(*leader_id)};
            if (*role == "leader") {
              if (leader != 0) return false;
              leader = id;
            }
          }
          if (leader == 0) return false;
          for (const auto& [id, v] : view) {
            if (id == leader) continue;
            if (v.first != "follower" || v.second != static_cast<uint64_t>(leader)) return false;
          }
          return true;
        },
        timeout);
    REQUIRE_MESSAGE(agreed, "no agreed leader among the running nodes\n" << report());
    return leader;
  }

  // Some running node other than the ones in `not_these`.
  int other_than(std::set<int> not_these) {
    for (int id = 1; id <= size_; ++id) {
      if (is_up(id) && !not_these.count(id)) return id;
    }
    FAIL("no running node outside the excluded ones");
    return 0;
  }

  // Polls until node id has applied at least up to index (its INFO raft applied_index).
  bool wait_applied(int id, uint64_t index, std::chrono::milliseconds timeout = 15s) {
    return eventually(
        [&] {
          auto info = try_node_info(port(id), "raft");
          if (!info) return false;
          auto applied = info_field(*info, "applied_index");
          return applied && std::stoull(*applied) >= index;
        },
        timeout);
  }

  // INFO raft of every running node and the tail of every log: for failure messages.
  std::string report() {
    std::ostringstream out;
    for (int id = 1; id <= size_; ++id) {
      out << "--- node " << id << " port " << port(id) << (is_up(id) ? " (running)" : " (down)")
          << "\n";
      if (is_up(id)) {
        auto info = try_node_info(port(id), "raft");
        out << (info ? *info : "(INFO raft did not answer)\n");
      }
      if (procs_[id])
        out << "log " << procs_[id]->log_path() << ":\n"
            << tail_lines(procs_[id]->log(), 25) << "\n";
    }
    return out.str();
  }

 private:
  void spawn(int id) {
    const SecretSource secret = secrets_.count(id) ? secrets_.at(id) : SecretSource{};
    std::string peers = peers_;
    if (joiners_.count(id)) peers += "," + std::to_string(id) + "=127.0.0.1:" + std::to_string(port(id));
    std::vector<std::string> argv = {bin_path("kvstore"), "--id",   std::to_string(id),
                                     "--peers",           peers,    "--data-dir",
                                     data_dir(id),        "--port", std::to_string(port(id))};
    if (joiners_.count(id)) argv.push_back("--join");
    if (!secret.via_env) {
      argv.push_back("--cluster-secret");
      argv.push_back(secret.secret);
    }
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    std::string log =
        tmp_.sub("node" + std::to_string(id) + ".log." + std::to_string(starts_[id]++));
    // The child inherits the environment at fork: set the variable for it alone.
    if (secret.via_env) ::setenv("KV_CLUSTER_SECRET", secret.secret.c_str(), 1);
    procs_[id] = std::make_unique<Process>(argv, log);
    ::unsetenv("KV_CLUSTER_SECRET");
  }

  void await_listening(int id) {
    auto p = wait_listening(*procs_[id]);
    REQUIRE_MESSAGE(p.has_value(), "node " << id << " did not come up\n" << report());
    REQUIRE(*p == port(id));
  }

  TempDir tmp_;  // first member: removed only after every process below is gone
  int size_;
  std::vector<uint16_t> ports_;
  std::vector<std::string> extra_;
  std::map<int, SecretSource> secrets_;  // default: kSecret through --cluster-secret
  std::string peers_;
  std::vector<std::unique_ptr<Process>> procs_;  // indexed by id; [0] unused
  std::vector<int> starts_;                      // starts per id, to name the logs
  std::set<int> joiners_;                        // started with --join (add_joiner)
};

}  // namespace kv::e2e
