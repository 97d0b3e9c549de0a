#include "protocol/resp_writer.h"

#include <doctest/doctest.h>

#include <climits>
#include <string>
#include <vector>

#include "protocol/resp_parser.h"
#include "protocol/resp_reply.h"

using namespace kv::protocol;

TEST_CASE("writers emit Redis's exact bytes") {
  std::string out;
  write_simple(&out, "OK");
  CHECK(out == "+OK\r\n");

  out.clear();
  write_error(&out, "ERR unknown command");
  CHECK(out == "-ERR unknown command\r\n");

  out.clear();
  write_integer(&out, 3);
  write_integer(&out, 0);
  write_integer(&out, -7);
  CHECK(out == ":3\r\n:0\r\n:-7\r\n");

  out.clear();
  write_integer(&out, INT64_MAX);
  write_integer(&out, INT64_MIN);
  CHECK(out == ":9223372036854775807\r\n:-9223372036854775808\r\n");

  out.clear();
  write_bulk(&out, "hello");
  write_bulk(&out, "");
  write_bulk(&out, std::string("a\r\n\0", 4));
  CHECK(out == std::string("$5\r\nhello\r\n$0\r\n\r\n$4\r\na\r\n\0\r\n", 27));

  out.clear();
  write_nil(&out);
  write_nil_array(&out);
  write_array_header(&out, 2);
  write_array_header(&out, 0);
  write_array_header(&out, 1234567);
  CHECK(out == "$-1\r\n*-1\r\n*2\r\n*0\r\n*1234567\r\n");
}

TEST_CASE("writers append to what is already in the buffer") {
  std::string out = "prefix";
  write_simple(&out, "PONG");
  write_bulk(&out, "x");
  CHECK(out == "prefix+PONG\r\n$1\r\nx\r\n");
}

TEST_CASE("simple strings and errors stay on one line") {
  std::string out = "keep\r\n";
  write_error(&out, "ERR bad\r\nthing\n");
  write_simple(&out, "a\rb");
  CHECK(out == "keep\r\n-ERR bad  thing \r\n+a b\r\n");
}

TEST_CASE("write_command encodes a request as an array of bulks") {
  std::string out;
  write_command(&out, {"SET", "key", "value"});
  CHECK(out == "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");
  out.clear();
  write_command(&out, {});
  CHECK(out == "*0\r\n");
}

TEST_CASE("write_command round-trips through RequestParser") {
  const std::vector<std::string> argv = {"SET", std::string("k\0\r\n", 4), std::string(70000, 'v'),
                                         ""};
  std::string out;
  write_command(&out, argv);
  write_command(&out, {"PING"});
  RequestParser parser;
  size_t consumed = 0;
  REQUIRE(parser.feed(out, &consumed) == ParseResult::kComplete);
  CHECK(parser.args() == argv);
  out.erase(0, consumed);
  REQUIRE(parser.feed(out, &consumed) == ParseResult::kComplete);
  CHECK(consumed == out.size());
  CHECK(parser.args() == std::vector<std::string>{"PING"});
}

TEST_CASE("written replies round-trip through parse_reply") {
  std::string out;
  write_array_header(&out, 5);
  write_simple(&out, "OK");
  write_error(&out, "WRONGTYPE no");
  write_integer(&out, -1);
  write_bulk(&out, "b\r\n");
  write_nil(&out);
  size_t consumed = 0;
  Reply r;
  std::string error;
  REQUIRE(parse_reply(out, &consumed, &r, &error) == ParseResult::kComplete);
  CHECK(consumed == out.size());
  REQUIRE(r.elements.size() == 5);
  CHECK(r.elements[0].type == Reply::Type::kSimpleString);
  CHECK(r.elements[1].str == "WRONGTYPE no");
  CHECK(r.elements[2].integer == -1);
  CHECK(r.elements[3].str == "b\r\n");
  CHECK(r.elements[4].type == Reply::Type::kNil);
}
