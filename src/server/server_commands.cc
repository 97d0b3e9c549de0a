// Connection and server commands: the handshakes real clients send (HELLO, COMMAND,
// CONFIG GET, SELECT 0, CLIENT SETNAME), PING/ECHO/QUIT and INFO. Never logged, never
// replayed: they run only with a live Server and Connection.
#include <algorithm>
#include <cctype>
#include <fmt/core.h>

#include "protocol/resp_writer.h"
#include "server/command_table.h"
#include "server/connection.h"
#include "server/glob.h"
#include "server/server.h"
#include "server/string_util.h"

namespace kv::server {
namespace {

using protocol::write_array_header;
using protocol::write_bulk;
using protocol::write_error;
using protocol::write_integer;
using protocol::write_nil;
using protocol::write_simple;

// What we tell clients that branch on the server version: the Redis release whose
// command semantics kvstore follows.
constexpr std::string_view kRedisCompatVersion = "7.0.15";

void cmd_ping(CommandContext& c) {
  if (c.args.size() > 2) {
    reply_wrong_arity(c.out, c.args[0]);
  } else if (c.args.size() == 2) {
    write_bulk(c.out, c.args[1]);
  } else {
    write_simple(c.out, "PONG");
  }
}

void cmd_echo(CommandContext& c) { write_bulk(c.out, c.args[1]); }

void cmd_quit(CommandContext& c) {
  write_simple(c.out, "OK");
  c.conn->closing = true;
}

// READONLY / READWRITE, as on Redis Cluster replicas: reads on this connection are served
// from this node's own state (fast, possibly stale) instead of through the leader.
void cmd_readonly(CommandContext& c) {
  c.conn->readonly = true;
  write_simple(c.out, "OK");
}

void cmd_readwrite(CommandContext& c) {
  c.conn->readonly = false;
  write_simple(c.out, "OK");
}

void cmd_select(CommandContext& c) {
  auto db = parse_int64(c.args[1]);
  if (!db) {
    write_error(c.out, "ERR value is not an integer or out of range");
  } else if (*db != 0) {
    write_error(c.out, "ERR DB index is out of range");
  } else {
    write_simple(c.out, "OK");
  }
}

bool valid_client_name(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](char ch) { return ch > ' ' && ch <= '~'; });
}

// HELLO [protover [AUTH user pass] [SETNAME name]]: RESP2 only.
void cmd_hello(CommandContext& c) {
  size_t i = 1;
  if (c.args.size() > 1) {
    auto ver = parse_int64(c.args[1]);
    if (!ver) {
      write_error(c.out, "ERR Protocol version is not an integer or out of range");
      return;
    }
    if (*ver != 2) {
      write_error(c.out, "NOPROTO sorry, this protocol version is not supported");
      return;
    }
    i = 2;
  }
  std::string name = c.conn->name;
  for (; i < c.args.size(); ++i) {
    if (equals_ignore_case(c.args[i], "auth") && i + 2 < c.args.size()) {
      i += 2;  // no users or passwords in kvstore: accepted and ignored
    } else if (equals_ignore_case(c.args[i], "setname") && i + 1 < c.args.size()) {
      name = c.args[++i];
      if (!valid_client_name(name)) {
        write_error(c.out, "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
      }
    } else {
      write_error(c.out, fmt::format("ERR Syntax error in HELLO option '{}'", c.args[i]));
      return;
    }
  }
  c.conn->name = name;
  write_array_header(c.out, 14);
  write_bulk(c.out, "server");
  write_bulk(c.out, "redis");
  write_bulk(c.out, "version");
  write_bulk(c.out, kRedisCompatVersion);
  write_bulk(c.out, "proto");
  write_integer(c.out, 2);
  write_bulk(c.out, "id");
  write_integer(c.out, static_cast<int64_t>(c.conn->id));
  write_bulk(c.out, "mode");
  write_bulk(c.out, "standalone");
  write_bulk(c.out, "role");
  write_bulk(c.out, "master");
  write_bulk(c.out, "modules");
  write_array_header(c.out, 0);
}

void write_command_info(std::string* out, const CommandSpec& spec) {
  write_array_header(out, 10);
  write_bulk(out, spec.name);
  write_integer(out, spec.arity);
  std::vector<std::string_view> flags;
  if (spec.flags & kWrite) flags.push_back("write");
  if (spec.flags & kReadOnly) flags.push_back("readonly");
  if (spec.flags & kFast) flags.push_back("fast");
  write_array_header(out, flags.size());
  for (auto f : flags) write_simple(out, f);
  std::string_view name = spec.name;
  int64_t first = 0, last = 0, step = 0;
  if (name == "mset") {
    first = 1, last = -1, step = 2;
  } else if (name == "del" || name == "exists" || name == "mget") {
    first = 1, last = -1, step = 1;
  } else if ((spec.flags & (kWrite | kReadOnly)) && name != "keys" && name != "scan" &&
             name != "dbsize" && name != "flushall" && name != "flushdb") {
    first = 1, last = 1, step = 1;
  }
  write_integer(out, first);
  write_integer(out, last);
  write_integer(out, step);
  for (int i = 0; i < 4; ++i) write_array_header(out, 0);  // acl categories, tips, key specs, subcommands
}

// COMMAND | COMMAND COUNT | COMMAND INFO name... | COMMAND DOCS [name...] | COMMAND LIST
void cmd_command(CommandContext& c) {
  const auto& all = CommandTable::instance().all();
  if (c.args.size() == 1) {
    write_array_header(c.out, all.size());
    for (const auto& spec : all) write_command_info(c.out, spec);
    return;
  }
  std::string_view sub = c.args[1];
  if (equals_ignore_case(sub, "count") && c.args.size() == 2) {
    write_integer(c.out, static_cast<int64_t>(all.size()));
  } else if (equals_ignore_case(sub, "info")) {
    write_array_header(c.out, c.args.size() - 2);
    for (size_t i = 2; i < c.args.size(); ++i) {
      const CommandSpec* spec = CommandTable::instance().find(c.args[i]);
      if (spec) {
        write_command_info(c.out, *spec);
      } else {
        protocol::write_nil_array(c.out);
      }
    }
  } else if (equals_ignore_case(sub, "docs")) {
    write_array_header(c.out, 0);  // clients (redis-cli) fall back to their built-in help
  } else if (equals_ignore_case(sub, "list")) {
    write_array_header(c.out, all.size());
    for (const auto& spec : all) write_bulk(c.out, spec.name);
  } else {
    write_error(c.out, fmt::format("ERR unknown subcommand '{}'. Try COMMAND HELP.", sub));
  }
}

// CONFIG GET pattern...: read-only view of the node's settings (redis-benchmark asks for
// "save" and "appendonly"). CONFIG SET is refused: settings are flags.
void cmd_config(CommandContext& c) {
  std::string_view sub = c.args[1];
  if (equals_ignore_case(sub, "resetstat") && c.args.size() == 2) {
    write_simple(c.out, "OK");
    return;
  }
  if (equals_ignore_case(sub, "set")) {
    write_error(c.out, "ERR CONFIG SET is not supported: kvstore settings are command-line flags");
    return;
  }
  if (!equals_ignore_case(sub, "get") || c.args.size() < 3) {
    write_error(c.out, fmt::format("ERR unknown subcommand or wrong number of arguments for '{}'", sub));
    return;
  }
  const ServerConfig& cfg = c.server->config();
  const std::vector<std::pair<std::string, std::string>> params = {
      {"appendfsync", std::string(fsync_policy_name(cfg.fsync))},
      {"appendonly", "yes"},
      {"bind", cfg.bind},
      {"databases", "1"},
      {"dir", c.server->store().data_dir()},
      {"maxclients", std::to_string(cfg.max_clients)},
      {"port", std::to_string(c.server->port())},
      {"proto-max-bulk-len", std::to_string(cfg.max_bulk_bytes)},
      {"save", ""},
  };
  std::vector<const std::pair<std::string, std::string>*> hits;
  for (const auto& p : params) {
    for (size_t i = 2; i < c.args.size(); ++i) {
      std::string pattern = c.args[i];
      for (char& ch : pattern) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (glob_match(pattern, p.first)) {
        hits.push_back(&p);
        break;
      }
    }
  }
  write_array_header(c.out, hits.size() * 2);
  for (const auto* p : hits) {
    write_bulk(c.out, p->first);
    write_bulk(c.out, p->second);
  }
}

void cmd_client(CommandContext& c) {
  std::string_view sub = c.args[1];
  Connection* conn = c.conn;
  if (equals_ignore_case(sub, "setname") && c.args.size() == 3) {
    if (!valid_client_name(c.args[2])) {
      write_error(c.out, "ERR Client names cannot contain spaces, newlines or special characters.");
      return;
    }
    conn->name = c.args[2];
    write_simple(c.out, "OK");
  } else if (equals_ignore_case(sub, "getname") && c.args.size() == 2) {
    if (conn->name.empty()) {
      write_nil(c.out);
    } else {
      write_bulk(c.out, conn->name);
    }
  } else if (equals_ignore_case(sub, "id") && c.args.size() == 2) {
    write_integer(c.out, static_cast<int64_t>(conn->id));
  } else if ((equals_ignore_case(sub, "setinfo") && c.args.size() == 4) ||
             ((equals_ignore_case(sub, "no-evict") || equals_ignore_case(sub, "no-touch")) &&
              c.args.size() == 3)) {
    write_simple(c.out, "OK");  // library name/version hints and eviction flags: nothing to do
  } else if (equals_ignore_case(sub, "info") && c.args.size() == 2) {
    write_bulk(c.out, fmt::format("id={} addr={} name={}\n", conn->id, conn->peer, conn->name));
  } else {
    write_error(c.out, fmt::format("ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.", sub));
  }
}

void cmd_info(CommandContext& c) {
  std::string text;
  if (c.args.size() == 1) {
    text = c.server->info("default");
  } else {
    for (size_t i = 1; i < c.args.size(); ++i) {
      std::string section = c.args[i];
      for (char& ch : section) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string part = c.server->info(section);
      if (!part.empty() && !text.empty()) text += "\r\n";
      text += part;
    }
  }
  write_bulk(c.out, text);
}

}  // namespace

void add_server_commands(std::vector<CommandSpec>* specs) {
  specs->insert(specs->end(), {
      {"ping", -1, kConnection | kFast, cmd_ping},
      {"echo", 2, kConnection | kFast, cmd_echo},
      {"quit", -1, kConnection | kFast, cmd_quit},
      {"select", 2, kConnection | kFast, cmd_select},
      {"readonly", 1, kConnection | kFast, cmd_readonly},
      {"readwrite", 1, kConnection | kFast, cmd_readwrite},
      {"hello", -1, kConnection | kFast, cmd_hello},
      {"command", -1, kConnection, cmd_command},
      {"config", -2, kConnection, cmd_config},
      {"client", -2, kConnection, cmd_client},
      {"info", -1, kConnection, cmd_info},
  });
}

}  // namespace kv::server
