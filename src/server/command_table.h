// The command table: every command the node understands, registered once with its arity
// and whether it reads or writes (the split replication needs: only writes enter the log).
// Handlers are plain functions over a CommandContext; data commands touch only the key
// space, so the same handler serves live requests and WAL replay. Immutable after start-up.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kv::storage {
class KeySpace;
}

namespace kv::server {

class Server;
struct Connection;

enum CommandFlag : uint32_t {
  kWrite = 1 << 0,     // changes the key space: logged to the WAL before it is applied
  kReadOnly = 1 << 1,  // reads the key space
  kFast = 1 << 2,      // O(1): for COMMAND's flags only
  kConnection = 1 << 3,  // about the connection or the server, never logged
};

struct CommandContext {
  const std::vector<std::string>& args;  // args[0] is the command name as sent
  std::string* out;                      // the reply is appended here
  storage::KeySpace* keys;
  Server* server = nullptr;      // null during WAL replay
  Connection* conn = nullptr;    // null during WAL replay
};

using CommandHandler = void (*)(CommandContext& ctx);

struct CommandSpec {
  const char* name;  // lower case
  int arity;         // >0: exactly; <0: at least -arity (counting the name), as in Redis
  uint32_t flags;
  CommandHandler handler;
};

class CommandTable {
 public:
  // The built-in table (data commands + connection/server commands).
  static const CommandTable& instance();
  // Case-insensitive; nullptr when unknown.
  const CommandSpec* find(std::string_view name) const;
  const std::vector<CommandSpec>& all() const { return specs_; }
  static bool arity_ok(const CommandSpec& spec, size_t argc) {
    return spec.arity > 0 ? argc == static_cast<size_t>(spec.arity)
                          : argc >= static_cast<size_t>(-spec.arity);
  }
  // A write as a log record holds it: its spec when argv is a known write command with a
  // valid arity, else nullptr (the record is not something a node ever logs).
  const CommandSpec* find_logged_write(const std::vector<std::string>& argv) const {
    const CommandSpec* spec = argv.empty() ? nullptr : find(argv[0]);
    return spec != nullptr && (spec->flags & kWrite) && arity_ok(*spec, argv.size()) ? spec : nullptr;
  }

 private:
  CommandTable();
  std::vector<CommandSpec> specs_;
};

// Registration lists, one per file of handlers.
void add_key_commands(std::vector<CommandSpec>* specs);
void add_server_commands(std::vector<CommandSpec>* specs);

// Reply helpers shared by handlers: Redis's exact error texts.
void reply_wrong_arity(std::string* out, std::string_view name);
void reply_unknown_command(std::string* out, const std::vector<std::string>& args);

}  // namespace kv::server
