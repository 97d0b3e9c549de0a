// Data commands: everything that reads or writes the key space. Each handler is a pure
// function of (key space, arguments) -> (new key space, reply), so replaying the WAL through
// the same handlers rebuilds exactly the state the clients saw.
#include <charconv>
#include <cstdint>
#include <limits>

#include "protocol/resp_writer.h"
#include "server/command_table.h"
#include "server/glob.h"
#include "server/string_util.h"
#include "storage/key_space.h"

namespace kv::server {
namespace {

using protocol::write_array_header;
using protocol::write_bulk;
using protocol::write_error;
using protocol::write_integer;
using protocol::write_nil;
using protocol::write_simple;

constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
constexpr std::string_view kSyntaxError = "ERR syntax error";

void cmd_get(CommandContext& c) {
  auto v = c.keys->get(c.args[1]);
  if (v) {
    write_bulk(c.out, *v);
  } else {
    write_nil(c.out);
  }
}

// SET key value [NX | XX] [GET] [KEEPTTL]
void cmd_set(CommandContext& c) {
  bool nx = false, xx = false, get = false;
  for (size_t i = 3; i < c.args.size(); ++i) {
    if (equals_ignore_case(c.args[i], "nx") && !xx) {
      nx = true;
    } else if (equals_ignore_case(c.args[i], "xx") && !nx) {
      xx = true;
    } else if (equals_ignore_case(c.args[i], "get")) {
      get = true;
    } else if (equals_ignore_case(c.args[i], "keepttl")) {
      // No key ever has a TTL here, so keeping it is what happens anyway.
    } else if (is_expiry_option(c.args[i])) {
      write_error(c.out, "ERR kvstore keys do not expire: EX/PX/EXAT/PXAT are not supported");
      return;
    } else {
      write_error(c.out, kSyntaxError);
      return;
    }
  }
  if (!nx && !xx && !get) {
    // The common case needs no look at the old value: one hash walk instead of two.
    c.keys->set(c.args[1], c.args[2]);
    write_simple(c.out, "OK");
    return;
  }
  auto old = c.keys->get(c.args[1]);
  bool exists = old.has_value();
  if (get) {
    if (exists) {
      write_bulk(c.out, *old);  // written before set(): the view dies with the mutation
    } else {
      write_nil(c.out);
    }
  }
  if ((nx && exists) || (xx && !exists)) {
    if (!get) write_nil(c.out);
    return;
  }
  c.keys->set(c.args[1], c.args[2]);
  if (!get) write_simple(c.out, "OK");
}

void cmd_del(CommandContext& c) {
  int64_t removed = 0;
  for (size_t i = 1; i < c.args.size(); ++i) removed += c.keys->erase(c.args[i]) ? 1 : 0;
  write_integer(c.out, removed);
}

void cmd_exists(CommandContext& c) {
  int64_t n = 0;
  for (size_t i = 1; i < c.args.size(); ++i) n += c.keys->contains(c.args[i]) ? 1 : 0;
  write_integer(c.out, n);
}

void cmd_mget(CommandContext& c) {
  write_array_header(c.out, c.args.size() - 1);
  for (size_t i = 1; i < c.args.size(); ++i) {
    auto v = c.keys->get(c.args[i]);
    if (v) {
      write_bulk(c.out, *v);
    } else {
      write_nil(c.out);
    }
  }
}

void cmd_mset(CommandContext& c) {
  if (c.args.size() % 2 != 1) {
    reply_wrong_arity(c.out, c.args[0]);
    return;
  }
  for (size_t i = 1; i < c.args.size(); i += 2) c.keys->set(c.args[i], c.args[i + 1]);
  write_simple(c.out, "OK");
}

void incr_by(CommandContext& c, int64_t delta) {
  int64_t current = 0;
  if (auto v = c.keys->get(c.args[1])) {
    auto parsed = parse_int64(*v);
    if (!parsed) {
      write_error(c.out, kNotInteger);
      return;
    }
    current = *parsed;
  }
  if ((delta > 0 && current > std::numeric_limits<int64_t>::max() - delta) ||
      (delta < 0 && current < std::numeric_limits<int64_t>::min() - delta)) {
    write_error(c.out, "ERR increment or decrement would overflow");
    return;
  }
  int64_t next = current + delta;
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), next);
  c.keys->set(c.args[1], std::string_view(buf, res.ptr - buf));
  write_integer(c.out, next);
}

void cmd_incr(CommandContext& c) { incr_by(c, 1); }
void cmd_decr(CommandContext& c) { incr_by(c, -1); }

void cmd_incrby(CommandContext& c) {
  auto delta = parse_int64(c.args[2]);
  if (!delta) {
    write_error(c.out, kNotInteger);
    return;
  }
  incr_by(c, *delta);
}

void cmd_decrby(CommandContext& c) {
  auto delta = parse_int64(c.args[2]);
  if (!delta) {
    write_error(c.out, kNotInteger);
    return;
  }
  if (*delta == std::numeric_limits<int64_t>::min()) {
    write_error(c.out, "ERR decrement would overflow");
    return;
  }
  incr_by(c, -*delta);
}

void cmd_append(CommandContext& c) {
  write_integer(c.out, static_cast<int64_t>(c.keys->append(c.args[1], c.args[2])));
}

void cmd_strlen(CommandContext& c) {
  auto v = c.keys->get(c.args[1]);
  write_integer(c.out, v ? static_cast<int64_t>(v->size()) : 0);
}

void cmd_dbsize(CommandContext& c) { write_integer(c.out, static_cast<int64_t>(c.keys->size())); }

void cmd_keys(CommandContext& c) {
  std::vector<std::string_view> found;
  std::string_view pattern = c.args[1];
  bool all = pattern == "*";
  c.keys->for_each([&](std::string_view key, std::string_view) {
    if (all || glob_match(pattern, key)) found.push_back(key);
  });
  write_array_header(c.out, found.size());
  for (auto k : found) write_bulk(c.out, k);
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
void cmd_scan(CommandContext& c) {
  auto cursor = parse_uint64(c.args[1]);
  if (!cursor) {
    write_error(c.out, "ERR invalid cursor");
    return;
  }
  std::string_view pattern;
  bool has_pattern = false;
  int64_t count = 10;
  bool only_strings = true;
  for (size_t i = 2; i < c.args.size(); i += 2) {
    if (i + 1 >= c.args.size()) {
      write_error(c.out, kSyntaxError);
      return;
    }
    if (equals_ignore_case(c.args[i], "match")) {
      pattern = c.args[i + 1];
      has_pattern = pattern != "*";
    } else if (equals_ignore_case(c.args[i], "count")) {
      auto n = parse_int64(c.args[i + 1]);
      if (!n) {
        write_error(c.out, kNotInteger);
        return;
      }
      if (*n < 1) {
        write_error(c.out, kSyntaxError);
        return;
      }
      count = *n;
    } else if (equals_ignore_case(c.args[i], "type")) {
      only_strings = equals_ignore_case(c.args[i + 1], "string");
    } else {
      write_error(c.out, kSyntaxError);
      return;
    }
  }
  std::vector<std::string_view> found;
  uint64_t next = c.keys->scan(*cursor, static_cast<size_t>(count), [&](std::string_view key) {
    if (only_strings && (!has_pattern || glob_match(pattern, key))) found.push_back(key);
  });
  write_array_header(c.out, 2);
  write_bulk(c.out, std::to_string(next));
  write_array_header(c.out, found.size());
  for (auto k : found) write_bulk(c.out, k);
}

void cmd_flushall(CommandContext& c) {
  if (c.args.size() > 2 ||
      (c.args.size() == 2 && !equals_ignore_case(c.args[1], "sync") &&
       !equals_ignore_case(c.args[1], "async"))) {
    write_error(c.out, kSyntaxError);
    return;
  }
  c.keys->clear();
  write_simple(c.out, "OK");
}

void cmd_type(CommandContext& c) {
  write_simple(c.out, c.keys->contains(c.args[1]) ? "string" : "none");
}

// No key has a TTL: -1 for an existing key, -2 for a missing one (as Redis).
void cmd_ttl(CommandContext& c) { write_integer(c.out, c.keys->contains(c.args[1]) ? -1 : -2); }

}  // namespace

void add_key_commands(std::vector<CommandSpec>* specs) {
  specs->insert(specs->end(), {
      {"get", 2, kReadOnly | kFast, cmd_get},
      {"set", -3, kWrite, cmd_set},
      {"del", -2, kWrite, cmd_del},
      {"exists", -2, kReadOnly | kFast, cmd_exists},
      {"mget", -2, kReadOnly | kFast, cmd_mget},
      {"mset", -3, kWrite, cmd_mset},
      {"incr", 2, kWrite | kFast, cmd_incr},
      {"decr", 2, kWrite | kFast, cmd_decr},
      {"incrby", 3, kWrite | kFast, cmd_incrby},
      {"decrby", 3, kWrite | kFast, cmd_decrby},
      {"append", 3, kWrite | kFast, cmd_append},
      {"strlen", 2, kReadOnly | kFast, cmd_strlen},
      {"dbsize", 1, kReadOnly | kFast, cmd_dbsize},
      {"keys", 2, kReadOnly, cmd_keys},
      {"scan", -2, kReadOnly, cmd_scan},
      {"flushall", -1, kWrite, cmd_flushall},
      {"flushdb", -1, kWrite, cmd_flushall},
      {"type", 2, kReadOnly | kFast, cmd_type},
      {"ttl", 2, kReadOnly | kFast, cmd_ttl},
      {"pttl", 2, kReadOnly | kFast, cmd_ttl},
  });
}

}  // namespace kv::server
