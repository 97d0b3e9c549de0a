// Runs one of kv_client's membership subcommands (admin_command.h) against a node: the RAFT
// commands of notes/membership-interface.md, retried while the cluster answers -TRYAGAIN, and
// one line of progress per step. The connection is reached only through AdminIo, so tests
// can script the server's replies. Not thread-safe; no state between calls.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "client/admin_command.h"
#include "common/status.h"
#include "protocol/resp_reply.h"

namespace kv::client {

struct AdminOptions {
  // How long a subcommand keeps retrying replies of -TRYAGAIN (a learner catching up, a
  // change pending, a transfer under way) before it gives up.
  std::chrono::milliseconds wait{60000};
  std::chrono::milliseconds poll{100};  // pause between two tries
  bool pretty = false;    // member list: header and aligned columns (a terminal), else tabs
  std::string self_addr;  // host:port of the node the connection goes to
};

struct AdminIo {
  // One command on the connection (already authenticated); IOError if it broke.
  std::function<Result<protocol::Reply>(const std::vector<std::string>& argv)> call;
  // INFO raft text of the node at "host:port" over a connection of its own, for member list
  // to ask the leader (the only node that knows match and lag). May be empty: no detour.
  std::function<Result<std::string>(const std::string& addr)> leader_info;
  // Prints one line of output (no trailing newline given) at once.
  std::function<void(const std::string& line)> print;
};

// Runs cmd. Returns kv_client's exit code: 0 done; 2 failed, with *error the one line to
// print on stderr (the server's error reply, or the I/O error, with the command it answered).
// Lines printed: member add "node ID: added as learner" (or "already a learner"), "node ID:
// caught up, promoted to voter" (or "already a voter"); member remove "node ID: removed";
// leader transfer "leadership moved to node ID"; member list the rows.
int run_admin(const AdminCommand& cmd, const AdminOptions& options, const AdminIo& io,
              std::string* error);

}  // namespace kv::client
