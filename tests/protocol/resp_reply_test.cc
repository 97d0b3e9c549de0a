#include "protocol/resp_reply.h"

#include <doctest/doctest.h>

#include <string>

using kv::protocol::parse_reply;
using kv::protocol::ParseResult;
using kv::protocol::Reply;

namespace {

// Parses `input`, which holds exactly one reply; also checks every strict prefix is
// kNeedMore and that trailing bytes (a pipelined next reply) are left alone.
Reply parse_whole(const std::string& input) {
  CAPTURE(input);
  for (size_t i = 0; i < input.size(); ++i) {
    CAPTURE(i);
    size_t consumed = 99;
    Reply r;
    r.str = "untouched";
    std::string error;
    REQUIRE(parse_reply(std::string_view(input).substr(0, i), &consumed, &r, &error) ==
            ParseResult::kNeedMore);
    CHECK(consumed == 0);
    CHECK(r.str == "untouched");
  }
  size_t consumed = 0;
  Reply with_tail;
  std::string error;
  REQUIRE(parse_reply(input + "+NEXT\r\n", &consumed, &with_tail, &error) ==
          ParseResult::kComplete);
  CHECK(consumed == input.size());
  Reply r;
  REQUIRE(parse_reply(input, &consumed, &r, &error) == ParseResult::kComplete);
  CHECK(consumed == input.size());
  return r;
}

std::string parse_error(const std::string& input) {
  size_t consumed = 99;
  Reply r;
  std::string error;
  const ParseResult result = parse_reply(input, &consumed, &r, &error);
  CHECK(result == ParseResult::kError);
  CHECK(consumed == 0);
  return error;
}

std::string nested_arrays(int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += "*1\r\n";
  return s + ":7\r\n";
}

}  // namespace

TEST_CASE("every reply type parses, and every prefix needs more") {
  Reply r = parse_whole("+OK\r\n");
  CHECK(r.type == Reply::Type::kSimpleString);
  CHECK(r.str == "OK");

  r = parse_whole("-ERR unknown command 'FOO'\r\n");
  CHECK(r.type == Reply::Type::kError);
  CHECK(r.str == "ERR unknown command 'FOO'");

  r = parse_whole(":-42\r\n");
  CHECK(r.type == Reply::Type::kInteger);
  CHECK(r.integer == -42);

  r = parse_whole("$7\r\nhe\r\nllo\r\n");
  CHECK(r.type == Reply::Type::kBulkString);
  CHECK(r.str == "he\r\nllo");

  r = parse_whole("$0\r\n\r\n");
  CHECK(r.type == Reply::Type::kBulkString);
  CHECK(r.str.empty());

  CHECK(parse_whole("$-1\r\n").type == Reply::Type::kNil);
  CHECK(parse_whole("*-1\r\n").type == Reply::Type::kNilArray);

  r = parse_whole("*0\r\n");
  CHECK(r.type == Reply::Type::kArray);
  CHECK(r.elements.empty());
}

TEST_CASE("nested arrays parse") {
  const Reply r = parse_whole("*3\r\n*2\r\n:1\r\n$1\r\nx\r\n$-1\r\n*1\r\n*0\r\n");
  REQUIRE(r.type == Reply::Type::kArray);
  REQUIRE(r.elements.size() == 3);
  REQUIRE(r.elements[0].elements.size() == 2);
  CHECK(r.elements[0].elements[0].integer == 1);
  CHECK(r.elements[0].elements[1].str == "x");
  CHECK(r.elements[1].type == Reply::Type::kNil);
  REQUIRE(r.elements[2].elements.size() == 1);
  CHECK(r.elements[2].elements[0].type == Reply::Type::kArray);
}

TEST_CASE("malformed replies are errors") {
  CHECK(parse_error("!x\r\n") == "Protocol error: unexpected reply type byte '!'");
  CHECK(parse_error("?") == "Protocol error: unexpected reply type byte '?'");
  CHECK(parse_error("+OK\n") == "Protocol error: expected CRLF at end of line");
  CHECK(parse_error(":abc\r\n") == "Protocol error: invalid integer reply");
  CHECK(parse_error(":\r\n") == "Protocol error: invalid integer reply");
  CHECK(parse_error(":99999999999999999999\r\n") == "Protocol error: invalid integer reply");
  CHECK(parse_error("$-2\r\n") == "Protocol error: invalid bulk length");
  CHECK(parse_error("$x\r\n") == "Protocol error: invalid bulk length");
  CHECK(parse_error("$999999999999\r\n") == "Protocol error: invalid bulk length");
  CHECK(parse_error("$3\r\nabcd\r\n") == "Protocol error: expected CRLF after bulk payload");
  CHECK(parse_error("*-2\r\n") == "Protocol error: invalid multibulk length");
  CHECK(parse_error("*99999999999\r\n") == "Protocol error: invalid multibulk length");
  CHECK(parse_error("*2\r\n:1\r\n!\r\n") == "Protocol error: unexpected reply type byte '!'");
  CHECK(parse_error("+" + std::string(2 * 1024 * 1024, 'a')) ==
        "Protocol error: reply line too long");
}

TEST_CASE("nesting depth is bounded") {
  size_t consumed = 0;
  Reply r;
  std::string error;
  CHECK(parse_reply(nested_arrays(64), &consumed, &r, &error) == ParseResult::kComplete);
  CHECK(parse_error(nested_arrays(65)) == "Protocol error: reply nesting too deep");
  CHECK(parse_error(nested_arrays(100000)) == "Protocol error: reply nesting too deep");
}

TEST_CASE("a huge claimed array or bulk just needs more") {
  size_t consumed = 0;
  Reply r;
  std::string error;
  CHECK(parse_reply("*2000000000\r\n:1\r\n", &consumed, &r, &error) == ParseResult::kNeedMore);
  CHECK(parse_reply("$500000000\r\nabc", &consumed, &r, &error) == ParseResult::kNeedMore);
}

TEST_CASE("to_display prints like redis-cli") {
  auto display = [](const std::string& wire) { return parse_whole(wire).to_display(); };
  CHECK(display("+OK\r\n") == "OK");
  CHECK(display(":3\r\n") == "(integer) 3");
  CHECK(display(":-3\r\n") == "(integer) -3");
  CHECK(display("$5\r\nvalue\r\n") == "\"value\"");
  CHECK(display("$0\r\n\r\n") == "\"\"");
  CHECK(display("$-1\r\n") == "(nil)");
  CHECK(display("*-1\r\n") == "(nil)");
  CHECK(display("-ERR wrong type\r\n") == "(error) ERR wrong type");
  CHECK(display("*0\r\n") == "(empty array)");
  CHECK(display(std::string("$9\r\na\"b\\\n\r\t\x01\xff\r\n", 15)) ==
        "\"a\\\"b\\\\\\n\\r\\t\\x01\\xff\"");
  CHECK(display("*3\r\n$1\r\na\r\n*2\r\n$1\r\nb\r\n:1\r\n$-1\r\n") ==
        "1) \"a\"\n"
        "2) 1) \"b\"\n"
        "   2) (integer) 1\n"
        "3) (nil)");
  CHECK(display("*2\r\n*1\r\n*0\r\n:5\r\n") ==
        "1) 1) (empty array)\n"
        "2) (integer) 5");
  std::string ten = "*10\r\n";
  for (int i = 0; i < 9; ++i) ten += ":0\r\n";
  ten += "*2\r\n+x\r\n+y\r\n";
  CHECK(display(ten) ==
        " 1) (integer) 0\n 2) (integer) 0\n 3) (integer) 0\n 4) (integer) 0\n"
        " 5) (integer) 0\n 6) (integer) 0\n 7) (integer) 0\n 8) (integer) 0\n"
        " 9) (integer) 0\n"
        "10) 1) x\n"
        "    2) y");
}
