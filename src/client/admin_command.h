// kv_client's membership subcommands (member add/remove/list, leader transfer) as pure
// values: what the words on the command line ask for, and the rows `member list` prints,
// parsed from a node's INFO raft text. No I/O; admin_runner.h sends the commands.
// Value types and free functions, no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kv::client {

enum class AdminKind {
  kMemberAdd,       // member add ID HOST:PORT  -> RAFT ADDLEARNER, then RAFT PROMOTE
  kMemberRemove,    // member remove ID         -> RAFT REMOVE
  kMemberList,      // member list              -> INFO raft
  kLeaderTransfer,  // leader transfer ID       -> RAFT TRANSFER
};

struct AdminCommand {
  AdminKind kind = AdminKind::kMemberList;
  uint64_t id = 0;   // >= 1, except for kMemberList
  std::string addr;  // kMemberAdd: "host:port" as given
};

// True when words (the command after kv_client's flags) start with "member" or "leader", in
// any case: those are kv_client's own subcommands. Every other command is sent as is.
bool is_admin_command(const std::vector<std::string>& words);

// REQUIRES: is_admin_command(words). InvalidArgument with one line ("usage: member add ID
// HOST:PORT", or what is wrong with an argument) when the words do not form a subcommand.
Result<AdminCommand> parse_admin_command(const std::vector<std::string>& words);

// Splits "host:port" at its last ':' (so "::1:9001" is host "::1"). "" and fills *host,
// *port; otherwise what is wrong, one line.
std::string parse_host_port(std::string_view addr, std::string* host, uint16_t* port);

// One member of the configuration as `member list` shows it.
struct MemberRow {
  uint64_t id = 0;
  std::string addr;               // "" when the INFO text does not say
  std::string role;               // "leader", "voter" or "learner"
  std::optional<uint64_t> match;  // known only from the leader's INFO
  std::optional<uint64_t> lag;
};

// The members named by an INFO raft text (voters:, learners:, peer_<id>: and node_id: fields,
// read by key), sorted by id. self_addr is the answering node's address, used unless it
// leads (then leader_addr: is). A text without voters:/learners: (a server from before
// membership changes, a standalone node) lists node_id and the peer_<id> ids, all voters.
// Empty when the text has no node_id: field.
std::vector<MemberRow> parse_member_rows(std::string_view info, const std::string& self_addr);

// The value of "field:" in an INFO text; nullopt if absent.
std::optional<std::string> info_value(std::string_view info, std::string_view field);

// `member list` output, one '\n'-terminated line per row. pretty (a terminal): a header and
// aligned columns; otherwise tab-separated id, addr, role, match, lag with no header. An
// unknown value is "-" in both.
std::string format_member_rows(const std::vector<MemberRow>& rows, bool pretty);

}  // namespace kv::client
