#include "server/command_table.h"

#include <algorithm>
#include <cctype>

#include <fmt/core.h>

#include "protocol/resp_writer.h"

namespace kv::server {

CommandTable::CommandTable() {
  add_key_commands(&specs_);
  add_server_commands(&specs_);
  std::sort(specs_.begin(), specs_.end(), [](const CommandSpec& a, const CommandSpec& b) {
    return std::string_view(a.name) < std::string_view(b.name);
  });
}

const CommandTable& CommandTable::instance() {
  static const CommandTable table;
  return table;
}

const CommandSpec* CommandTable::find(std::string_view name) const {
  char lower[32];
  if (name.size() >= sizeof(lower)) return nullptr;
  // ASCII only, as Redis: command names are ASCII, and this runs for every request.
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    lower[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  std::string_view key(lower, name.size());
  auto it = std::lower_bound(specs_.begin(), specs_.end(), key,
                             [](const CommandSpec& s, std::string_view k) { return std::string_view(s.name) < k; });
  if (it == specs_.end() || it->name != key) return nullptr;
  return &*it;
}

void reply_wrong_arity(std::string* out, std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  protocol::write_error(out, fmt::format("ERR wrong number of arguments for '{}' command", lower));
}

void reply_unknown_command(std::string* out, const std::vector<std::string>& args) {
  // Redis 7: the name and the first arguments, each cut at 128 bytes.
  std::string msg = fmt::format("ERR unknown command '{}', with args beginning with: ",
                                std::string_view(args[0]).substr(0, 128));
  for (size_t i = 1; i < args.size(); ++i) {
    msg += fmt::format("'{}' ", std::string_view(args[i]).substr(0, 128));
  }
  // An error line cannot carry CR/LF: Redis replaces them with spaces.
  std::replace(msg.begin(), msg.end(), '\r', ' ');
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  protocol::write_error(out, msg);
}

}  // namespace kv::server
