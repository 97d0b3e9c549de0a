// The text form of a history, written by the chaos driver and read by kv_linearizability.
// This header is the one description of the format.
//
// One operation per line, nine space-separated fields:
//
//   id client invoke_ns complete_ns kind key arg outcome result
//
//   id, client   unsigned integers; ids are unique in a history.
//   invoke_ns    signed integer, any monotonic clock shared by all clients.
//   complete_ns  signed integer, or "-" for an unknown outcome (ignored for unknown ops).
//   kind         GET | SET | INCR
//   key          non-empty, percent-encoded (see below), unquoted.
//   arg          SET: the value as a quoted string; GET, INCR: "-".
//   outcome      ok | fail | unknown
//   result       ok GET: a quoted string, or nil; ok INCR: the integer; otherwise "-".
//
// Quoted strings are "..." holding the bytes 0x21..0x7e except '"' and '%' as themselves and
// every other byte as %XX (two upper-case hex digits); keys use the same escapes unquoted.
// Lines that are empty or start with '#' are ignored. Worked example:
//
//   # kvcluster chaos history v1
//   1 0 1000 1900 SET k1 "v-1" ok -
//   2 1 1500 2600 GET k1 - ok "v-1"
//   3 2 1600 - INCR k2 - unknown -
//   4 1 2700 2900 INCR k2 - ok 1
//   5 0 3000 3100 GET k%20space - ok nil
#pragma once

#include <string>
#include <string_view>

#include "chaos/history.h"
#include "common/status.h"

namespace kv::chaos {

inline constexpr std::string_view kHistoryHeader = "# kvcluster chaos history v1";

// One line, without the newline.
std::string format_operation(const Operation& op);
// The header line, then one line per op, each ending in '\n'.
std::string format_history(const History& history);

// InvalidArgument naming the problem on a malformed line or an op validate_operation rejects.
Result<Operation> parse_operation(std::string_view line);
// Errors are prefixed with "line N: "; duplicate ids are errors too.
Result<History> parse_history(std::string_view text);

Status write_history_file(const std::string& path, const History& history);
Result<History> read_history_file(const std::string& path);

}  // namespace kv::chaos
