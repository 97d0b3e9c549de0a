#include "client/admin_runner.h"

#include <algorithm>
#include <optional>
#include <thread>

namespace kv::client {
namespace {

using Clock = std::chrono::steady_clock;
using protocol::Reply;

bool is_ok(const Reply& r) { return r.type == Reply::Type::kSimpleString && r.str == "OK"; }
bool is_error(const Reply& r) { return r.type == Reply::Type::kError; }
bool is_tryagain(const Reply& r) { return is_error(r) && r.str.rfind("TRYAGAIN", 0) == 0; }

std::string joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

// One subcommand's run: the shared deadline for retries, and how failures become *error.
class Run {
 public:
  Run(const AdminOptions& options, const AdminIo& io, std::string* error)
      : options_(options), io_(io), error_(error), deadline_(Clock::now() + options.wait) {}

  int add(const AdminCommand& cmd);
  int remove(const AdminCommand& cmd);
  int transfer(const AdminCommand& cmd);
  int list();

 private:
  // Sends argv until the reply is not -TRYAGAIN or the deadline would pass before the next
  // try; *retried says whether any -TRYAGAIN came (the first one goes to on_retry). nullopt
  // on a broken connection, with *error_ set.
  std::optional<Reply> settle(const std::vector<std::string>& argv, bool* retried,
                              const std::function<void(const Reply&)>& on_retry = nullptr);
  // The configuration as the connected node's INFO raft shows it; nullopt if INFO failed.
  std::optional<std::vector<MemberRow>> members();
  std::optional<MemberRow> member(uint64_t id);
  int fail(const std::vector<std::string>& argv, const Reply& reply);
  std::string node(uint64_t id) const { return "node " + std::to_string(id) + ": "; }

  const AdminOptions& options_;
  const AdminIo& io_;
  std::string* error_;
  const Clock::time_point deadline_;
};

std::optional<Reply> Run::settle(const std::vector<std::string>& argv, bool* retried,
                                 const std::function<void(const Reply&)>& on_retry) {
  *retried = false;
  for (;;) {
    auto r = io_.call(argv);
    if (!r.ok()) {
      *error_ = "kv_client: " + joined(argv) + ": " + r.status().message();
      return std::nullopt;
    }
    if (!is_tryagain(*r) || Clock::now() + options_.poll > deadline_) return std::move(r).value();
    if (!*retried && on_retry) on_retry(*r);
    *retried = true;
    std::this_thread::sleep_for(options_.poll);
  }
}

std::optional<std::vector<MemberRow>> Run::members() {
  auto r = io_.call({"INFO", "raft"});
  if (!r.ok() || r->type != Reply::Type::kBulkString) return std::nullopt;
  return parse_member_rows(r->str, options_.self_addr);
}

std::optional<MemberRow> Run::member(uint64_t id) {
  auto rows = members();
  if (!rows) return std::nullopt;
  auto it =
      std::find_if(rows->begin(), rows->end(), [&](const MemberRow& r) { return r.id == id; });
  if (it == rows->end()) return std::nullopt;
  return *it;
}

int Run::fail(const std::vector<std::string>& argv, const Reply& reply) {
  std::string what = is_error(reply) ? reply.str : "unexpected reply " + reply.to_display();
  if (is_tryagain(reply)) {
    what += " (still refused after " + std::to_string(options_.wait.count()) + " ms)";
  }
  *error_ = "kv_client: " + joined(argv) + ": " + what;
  return 2;
}

int Run::add(const AdminCommand& cmd) {
  const std::string id = std::to_string(cmd.id);
  const std::vector<std::string> add_argv = {"RAFT", "ADDLEARNER", id, cmd.addr};
  bool retried = false;
  auto r = settle(add_argv, &retried);
  if (!r) return 2;
  if (is_ok(*r)) {
    io_.print(node(cmd.id) + "added as learner");
  } else if (is_error(*r) && !is_tryagain(*r)) {
    // Refused: fine if the node is already in, at that address (an earlier run, or this
    // run's own attempt whose -TRYAGAIN hid that it went through). Anything else fails.
    auto m = member(cmd.id);
    if (!m || !(m->addr.empty() || m->addr == cmd.addr)) return fail(add_argv, *r);
    if (m->role != "learner") {
      io_.print(node(cmd.id) + "already a voter");
      return 0;
    }
    io_.print(node(cmd.id) + "already a learner");
  } else {
    return fail(add_argv, *r);
  }

  const std::vector<std::string> promote_argv = {"RAFT", "PROMOTE", id};
  r = settle(promote_argv, &retried, [&](const Reply& first) {
    io_.print(node(cmd.id) + "catching up (" + first.str + ")");
  });
  if (!r) return 2;
  if (is_ok(*r)) {
    io_.print(node(cmd.id) + "caught up, promoted to voter");
    return 0;
  }
  if (is_error(*r) && !is_tryagain(*r)) {
    auto m = member(cmd.id);
    if (m && m->role != "learner") {
      io_.print(node(cmd.id) + (retried ? "caught up, promoted to voter" : "already a voter"));
      return 0;
    }
  }
  return fail(promote_argv, *r);
}

int Run::remove(const AdminCommand& cmd) {
  const std::vector<std::string> argv = {"RAFT", "REMOVE", std::to_string(cmd.id)};
  bool retried = false;
  auto r = settle(argv, &retried);
  if (!r) return 2;
  if (!is_ok(*r) && !(retried && is_error(*r) && !is_tryagain(*r))) return fail(argv, *r);
  if (!is_ok(*r)) {
    // Refused after a -TRYAGAIN that may have hidden a removal that went through.
    auto rows = members();
    const bool gone = rows && std::none_of(rows->begin(), rows->end(),
                                           [&](const MemberRow& m) { return m.id == cmd.id; });
    if (!gone) return fail(argv, *r);
  }
  io_.print(node(cmd.id) + "removed");
  return 0;
}

int Run::transfer(const AdminCommand& cmd) {
  const std::vector<std::string> argv = {"RAFT", "TRANSFER", std::to_string(cmd.id)};
  bool retried = false;
  auto r = settle(argv, &retried);
  if (!r) return 2;
  if (!is_ok(*r)) return fail(argv, *r);
  io_.print("leadership moved to node " + std::to_string(cmd.id));
  return 0;
}

int Run::list() {
  const std::vector<std::string> argv = {"INFO", "raft"};
  auto r = io_.call(argv);
  if (!r.ok()) {
    *error_ = "kv_client: INFO raft: " + r.status().message();
    return 2;
  }
  if (r->type != Reply::Type::kBulkString) return fail(argv, *r);
  std::vector<MemberRow> rows = parse_member_rows(r->str, options_.self_addr);
  // Only the leader knows how far each member has got: ask it when this node is not it.
  const std::string leader_addr = info_value(r->str, "leader_addr").value_or("");
  if (info_value(r->str, "role") != "leader" && !leader_addr.empty() && io_.leader_info) {
    auto leader = io_.leader_info(leader_addr);
    if (leader.ok() && info_value(*leader, "role") == "leader") {
      auto leader_rows = parse_member_rows(*leader, leader_addr);
      if (!leader_rows.empty()) rows = std::move(leader_rows);
    }
  }
  if (rows.empty()) {
    *error_ = "kv_client: INFO raft names no members (node_id: missing; not a kvstore?)";
    return 2;
  }
  const std::string text = format_member_rows(rows, options_.pretty);
  for (size_t pos = 0; pos < text.size();) {
    const size_t nl = text.find('\n', pos);
    io_.print(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return 0;
}

}  // namespace

int run_admin(const AdminCommand& cmd, const AdminOptions& options, const AdminIo& io,
              std::string* error) {
  Run run(options, io, error);
  switch (cmd.kind) {
    case AdminKind::kMemberAdd:
      return run.add(cmd);
    case AdminKind::kMemberRemove:
      return run.remove(cmd);
    case AdminKind::kLeaderTransfer:
      return run.transfer(cmd);
    case AdminKind::kMemberList:
      return run.list();
  }
  return 2;
}

}  // namespace kv::client
