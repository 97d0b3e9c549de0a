// Data commands run straight through the command table against a KeySpace: the same path
// live requests and WAL replay take. Replies are compared byte for byte with Redis's.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "server/command_table.h"
#include "storage/key_space.h"

namespace {

struct Harness {
  kv::storage::KeySpace keys;
  // Runs one data command; returns the raw RESP reply.
  std::string run(std::vector<std::string> args) {
    std::string out;
    const auto* spec = kv::server::CommandTable::instance().find(args[0]);
    REQUIRE(spec != nullptr);
    if (!kv::server::CommandTable::arity_ok(*spec, args.size())) {
      kv::server::reply_wrong_arity(&out, args[0]);
      return out;
    }
    kv::server::CommandContext ctx{args, &out, &keys};
    spec->handler(ctx);
    return out;
  }
};

}  // namespace

TEST_CASE("GET/SET/DEL/EXISTS replies") {
  Harness h;
  CHECK(h.run({"GET", "k"}) == "$-1\r\n");
  CHECK(h.run({"SET", "k", "v"}) == "+OK\r\n");
  CHECK(h.run({"get", "k"}) == "$1\r\nv\r\n");
  CHECK(h.run({"EXISTS", "k", "k", "nope"}) == ":2\r\n");
  CHECK(h.run({"DEL", "k", "nope"}) == ":1\r\n");
  CHECK(h.run({"GET", "k"}) == "$-1\r\n");
  CHECK(h.run({"GET"}) == "-ERR wrong number of arguments for 'get' command\r\n");
}

TEST_CASE("SET NX / XX / GET combinations") {
  Harness h;
  CHECK(h.run({"SET", "k", "1", "XX"}) == "$-1\r\n");
  CHECK(h.run({"SET", "k", "1", "NX"}) == "+OK\r\n");
  CHECK(h.run({"SET", "k", "2", "NX"}) == "$-1\r\n");
  CHECK(h.run({"SET", "k", "3", "XX", "GET"}) == "$1\r\n1\r\n");
  CHECK(h.run({"SET", "k", "4", "NX", "GET"}) == "$1\r\n3\r\n");
  CHECK(h.run({"GET", "k"}) == "$1\r\n3\r\n");
  CHECK(h.run({"SET", "new", "x", "GET"}) == "$-1\r\n");
  CHECK(h.run({"SET", "k", "v", "NX", "XX"}) == "-ERR syntax error\r\n");
  CHECK(h.run({"SET", "k", "v", "BOGUS"}) == "-ERR syntax error\r\n");
}

TEST_CASE("INCR family: integers, errors and overflow") {
  Harness h;
  CHECK(h.run({"INCR", "n"}) == ":1\r\n");
  CHECK(h.run({"INCRBY", "n", "41"}) == ":42\r\n");
  CHECK(h.run({"DECR", "n"}) == ":41\r\n");
  CHECK(h.run({"DECRBY", "n", "50"}) == ":-9\r\n");
  CHECK(h.run({"GET", "n"}) == "$2\r\n-9\r\n");
  h.run({"SET", "s", "abc"});
  CHECK(h.run({"INCR", "s"}) == "-ERR value is not an integer or out of range\r\n");
  CHECK(h.run({"INCRBY", "n", "x"}) == "-ERR value is not an integer or out of range\r\n");
  h.run({"SET", "big", "9223372036854775807"});
  CHECK(h.run({"INCR", "big"}) == "-ERR increment or decrement would overflow\r\n");
  CHECK(h.run({"GET", "big"}) == "$19\r\n9223372036854775807\r\n");
}

TEST_CASE("MSET/MGET/APPEND/STRLEN/DBSIZE/FLUSHALL") {
  Harness h;
  CHECK(h.run({"MSET", "a", "1", "b", "2"}) == "+OK\r\n");
  CHECK(h.run({"MSET", "a", "1", "b"}) == "-ERR wrong number of arguments for 'mset' command\r\n");
  CHECK(h.run({"MGET", "a", "zz", "b"}) == "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n");
  CHECK(h.run({"APPEND", "a", "23"}) == ":3\r\n");
  CHECK(h.run({"APPEND", "c", "xy"}) == ":2\r\n");
  CHECK(h.run({"STRLEN", "a"}) == ":3\r\n");
  CHECK(h.run({"STRLEN", "none"}) == ":0\r\n");
  CHECK(h.run({"DBSIZE"}) == ":3\r\n");
  CHECK(h.run({"FLUSHALL"}) == "+OK\r\n");
  CHECK(h.run({"DBSIZE"}) == ":0\r\n");
}

TEST_CASE("KEYS and SCAN with MATCH see every key once a scan completes") {
  Harness h;
  for (int i = 0; i < 300; ++i) h.run({"SET", "user:" + std::to_string(i), "x"});
  h.run({"SET", "other", "x"});
  std::string keys_reply = h.run({"KEYS", "user:1?"});
  CHECK(keys_reply.rfind("*10\r\n", 0) == 0);

  std::set<std::string> seen;
  std::string cursor = "0";
  int rounds = 0;
  do {
    std::string reply = h.run({"SCAN", cursor, "MATCH", "user:*", "COUNT", "20"});
    // *2\r\n$<n>\r\n<cursor>\r\n*<m>\r\n then m bulks
    size_t p = reply.find("\r\n", 4);
    size_t cstart = p + 2;
    size_t cend = reply.find("\r\n", cstart);
    cursor = reply.substr(cstart, cend - cstart);
    size_t pos = cend + 2;
    size_t arr_end = reply.find("\r\n", pos);
    int m = std::stoi(reply.substr(pos + 1, arr_end - pos - 1));
    pos = arr_end + 2;
    for (int i = 0; i < m; ++i) {
      size_t le = reply.find("\r\n", pos);
      int len = std::stoi(reply.substr(pos + 1, le - pos - 1));
      std::string key = reply.substr(le + 2, len);
      CHECK(key.rfind("user:", 0) == 0);
      seen.insert(key);
      pos = le + 2 + len + 2;
    }
    ++rounds;
  } while (cursor != "0" && rounds < 10000);
  CHECK(seen.size() == 300);
  CHECK(h.run({"SCAN", "abc"}) == "-ERR invalid cursor\r\n");
}
