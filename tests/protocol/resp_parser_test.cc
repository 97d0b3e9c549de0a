#include "protocol/resp_parser.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

using kv::protocol::ParseResult;
using kv::protocol::ParserLimits;
using kv::protocol::RequestParser;

namespace {

using Args = std::vector<std::string>;

struct Outcome {
  std::vector<Args> requests;
  std::string error;  // empty unless a kError was returned
};

// Delivers `chunks` one by one the way a connection does: append to an input buffer, feed,
// drop the consumed bytes, repeat while requests complete. Checks the feed() contract.
Outcome run_chunks(RequestParser& parser, const std::vector<std::string>& chunks) {
  Outcome outcome;
  std::string buffer;
  for (const std::string& chunk : chunks) {
    buffer += chunk;
    while (true) {
      size_t consumed = 12345;
      const ParseResult result = parser.feed(buffer, &consumed);
      REQUIRE(consumed <= buffer.size());
      if (result == ParseResult::kError) {
        outcome.error = parser.error();
        return outcome;
      }
      if (result == ParseResult::kNeedMore) {
        REQUIRE(consumed == buffer.size());
        buffer.clear();
        break;
      }
      REQUIRE(consumed > 0);
      REQUIRE_FALSE(parser.args().empty());
      outcome.requests.push_back(parser.args());
      buffer.erase(0, consumed);
    }
  }
  return outcome;
}

Outcome run_chunks(const std::vector<std::string>& chunks, ParserLimits limits = {}) {
  RequestParser parser(limits);
  return run_chunks(parser, chunks);
}

Outcome run_whole(const std::string& input) { return run_chunks({input}); }

// Splits `input` at every point i and at every pair of points i <= j (three chunks), and
// byte by byte; each way must give the same outcome as feeding it whole.
void check_every_split(const std::string& input, const Outcome& expected) {
  for (size_t i = 0; i <= input.size(); ++i) {
    for (size_t j = i; j <= input.size(); ++j) {
      CAPTURE(i);
      CAPTURE(j);
      const Outcome got = run_chunks({input.substr(0, i), input.substr(i, j - i), input.substr(j)});
      CHECK(got.requests == expected.requests);
      CHECK(got.error == expected.error);
    }
  }
  std::vector<std::string> bytes;
  for (char c : input) bytes.emplace_back(1, c);
  const Outcome got = run_chunks(bytes);
  CHECK(got.requests == expected.requests);
  CHECK(got.error == expected.error);
}

void check_requests(const std::string& input, const std::vector<Args>& expected) {
  CAPTURE(input);
  const Outcome whole = run_whole(input);
  CHECK(whole.error == "");
  CHECK(whole.requests == expected);
  check_every_split(input, Outcome{expected, ""});
}

void check_error(const std::string& input, const std::string& message,
                 const std::vector<Args>& before = {}) {
  CAPTURE(input);
  const Outcome whole = run_whole(input);
  CHECK(whole.error == message);
  CHECK(whole.requests == before);
  if (input.size() <= 200) check_every_split(input, Outcome{before, message});
}

std::string bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

std::string multibulk(const Args& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += bulk(a);
  return out;
}

}  // namespace

TEST_CASE("multibulk requests parse at every split point") {
  check_requests("*1\r\n$4\r\nPING\r\n", {{"PING"}});
  check_requests("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", {{"SET", "key", "value"}});
  // Binary payloads: CR, LF and NUL inside a bulk are data.
  const std::string binary("a\r\nb\0c\r\n", 8);
  check_requests(multibulk({"SET", "k\r\n", binary}), {{"SET", "k\r\n", binary}});
  // Empty bulks.
  check_requests("*2\r\n$0\r\n\r\n$0\r\n\r\n", {{"", ""}});
}

TEST_CASE("pipelined requests, inline and multibulk mixed, parse at every split point") {
  const std::string input = multibulk({"SET", "a", "1"}) + "GET a\r\n" + multibulk({"INCR", "a"}) +
                            "PING\n" + multibulk({"DEL", ""});
  check_requests(input, {{"SET", "a", "1"}, {"GET", "a"}, {"INCR", "a"}, {"PING"}, {"DEL", ""}});
}

TEST_CASE("empty requests are skipped, never surfaced") {
  check_requests("*0\r\n*-1\r\n*-10\r\n\r\n\n   \r\n*1\r\n$4\r\nPING\r\n", {{"PING"}});
  const Outcome only_empty = run_whole("*0\r\n\r\n");
  CHECK(only_empty.requests.empty());
  CHECK(only_empty.error == "");
}

TEST_CASE("inline commands split like redis-cli") {
  check_requests("PING\r\n", {{"PING"}});
  check_requests("SET a b\n", {{"SET", "a", "b"}});
  check_requests("  set \t a   b  \r\n", {{"set", "a", "b"}});
  check_requests("SET \"a b\" 'c d'\r\n", {{"SET", "a b", "c d"}});
  check_requests("SET \"\\x41\\x4a\\n\\r\\t\\\"\\\\\\q\" 'it\\'s'\r\n",
                 {{"SET", "AJ\n\r\t\"\\q", "it's"}});
  check_requests("ECHO \"\" ''\r\n", {{"ECHO", "", ""}});
  // A quote inside an unquoted word opens a quoted section, as in sdssplitargs.
  check_requests("ECHO ab\"c d\"\n", {{"ECHO", "abc d"}});
  // Single quotes keep backslashes other than \'.
  check_requests("ECHO 'a\\nb'\n", {{"ECHO", "a\\nb"}});
}

TEST_CASE("malformed multibulk headers are errors with Redis's messages") {
  const std::string kBadCount = "Protocol error: invalid multibulk length";
  check_error("*abc\r\n", kBadCount);
  check_error("*\r\n", kBadCount);
  check_error("*01\r\n", kBadCount);
  check_error("*+1\r\n", kBadCount);
  check_error("* 1\r\n", kBadCount);
  check_error("*1\n", kBadCount);
  check_error("*1\rx\n", kBadCount);
  check_error("*1048577\r\n", kBadCount);
  check_error("*20000000\r\n", kBadCount);
  check_error("*1000000000\r\n", kBadCount);
  check_error("*99999999999999999999999\r\n", kBadCount);
  check_error("*" + std::string(70000, '1'), "Protocol error: too big mbulk count string");
}

TEST_CASE("malformed bulk headers are errors with Redis's messages") {
  const std::string kBadLen = "Protocol error: invalid bulk length";
  check_error("*1\r\n$-1\r\n", kBadLen);
  check_error("*1\r\n$abc\r\n", kBadLen);
  check_error("*1\r\n$\r\n", kBadLen);
  check_error("*1\r\n$3\n", kBadLen);
  check_error("*1\r\n$536870913\r\n", kBadLen);
  check_error("*1\r\n$2000000000\r\n", kBadLen);
  check_error("*1\r\n$99999999999999999999\r\n", kBadLen);
  check_error("*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "Protocol error: expected '$', got 'f'");
  check_error("*1\r\n:3\r\n", "Protocol error: expected '$', got ':'");
  check_error("*2\r\n$1\r\na\r\n\r\n", "Protocol error: expected '$', got ' '");
  check_error("*1\r\n$" + std::string(70000, '1'), "Protocol error: too big bulk count string");
  // A request before the bad one still completes.
  check_error(multibulk({"PING"}) + "*1\r\n$x\r\n", kBadLen, {{"PING"}});
}

TEST_CASE("a bulk payload must be followed by exactly CRLF") {
  const std::string kNoCrlf = "Protocol error: expected CRLF after bulk payload";
  check_error("*1\r\n$3\r\nfooXY", kNoCrlf);
  check_error("*1\r\n$3\r\nfoo\rX", kNoCrlf);
  check_error("*1\r\n$3\r\nfoo\n\r", kNoCrlf);
  check_error("*1\r\n$2\r\nfoo\r\n", kNoCrlf);
  check_error("*1\r\n$0\r\nx\r\n", kNoCrlf);
}

TEST_CASE("bad inline requests are errors") {
  const std::string kQuotes = "Protocol error: unbalanced quotes in request";
  check_error("SET \"a b\r\n", kQuotes);
  check_error("SET 'a b\n", kQuotes);
  check_error("SET \"a\"b\n", kQuotes);
  check_error("SET 'a'b\n", kQuotes);
  check_error("SET \"a\\\"\n", kQuotes);
  const std::string kTooBig = "Protocol error: too big inline request";
  check_error(std::string(70000, 'a'), kTooBig);
  check_error(std::string(70000, 'a') + "\r\n", kTooBig);
  // Exactly at the limit is fine, one over is not, whether or not the line ends in '\r'.
  ParserLimits limits;
  limits.max_inline_len = 8;
  CHECK(run_chunks({"12345 78\r\n"}, limits).requests == std::vector<Args>{{"12345", "78"}});
  CHECK(run_chunks({"12345 78\n"}, limits).requests == std::vector<Args>{{"12345", "78"}});
  CHECK(run_chunks({"12345 789\r\n"}, limits).error == kTooBig);
  CHECK(run_chunks({"12345 789\n"}, limits).error == kTooBig);
  CHECK(run_chunks({"1234", "5 789", "\n"}, limits).error == kTooBig);
  CHECK(run_chunks({"12345 7", "8\r", "\n"}, limits).requests ==
        std::vector<Args>{{"12345", "78"}});
}

TEST_CASE("custom limits bound arguments and bulk sizes") {
  ParserLimits limits;
  limits.max_bulk_len = 4;
  limits.max_multibulk_len = 2;
  CHECK(run_chunks({multibulk({"ab", "abcd"})}, limits).requests ==
        std::vector<Args>{{"ab", "abcd"}});
  CHECK(run_chunks({multibulk({"abcde"})}, limits).error == "Protocol error: invalid bulk length");
  CHECK(run_chunks({multibulk({"a", "b", "c"})}, limits).error ==
        "Protocol error: invalid multibulk length");
}

TEST_CASE("after an error the parser stays failed until reset") {
  RequestParser parser;
  size_t consumed = 0;
  REQUIRE(parser.feed("*x\r\n", &consumed) == ParseResult::kError);
  CHECK(parser.error() == "Protocol error: invalid multibulk length");
  CHECK(parser.feed("PING\r\n", &consumed) == ParseResult::kError);
  CHECK(consumed == 0);
  parser.reset();
  CHECK(parser.error().empty());
  REQUIRE(parser.feed("PING\r\n", &consumed) == ParseResult::kComplete);
  CHECK(consumed == 6);
  CHECK(parser.args() == Args{"PING"});
}

TEST_CASE("reset drops a partial request") {
  RequestParser parser;
  size_t consumed = 0;
  REQUIRE(parser.feed("*2\r\n$3\r\nGE", &consumed) == ParseResult::kNeedMore);
  parser.reset();
  REQUIRE(parser.feed("*1\r\n$4\r\nPING\r\n", &consumed) == ParseResult::kComplete);
  CHECK(parser.args() == Args{"PING"});
}

TEST_CASE("claimed sizes within limits are not allocated up front") {
  RequestParser parser;
  size_t consumed = 0;
  // A 400 MB bulk is announced but only a few bytes arrive.
  REQUIRE(parser.feed("*1\r\n$400000000\r\nabc", &consumed) == ParseResult::kNeedMore);
  REQUIRE(parser.args().size() >= 1);
  CHECK(parser.args()[0].capacity() <= 64 * 1024);
  CHECK(parser.args()[0] == "abc");

  // A million arguments announced: the args vector does not reserve a million strings.
  RequestParser parser2;
  REQUIRE(parser2.feed("*1000000\r\n$3\r\nSET\r\n", &consumed) == ParseResult::kNeedMore);
  CHECK(parser2.args().capacity() <= 1024);
}

TEST_CASE("argument capacity is reused across requests") {
  RequestParser parser;
  size_t consumed = 0;
  const std::string first = multibulk({"SET", "some-key-longer-than-sso", std::string(1000, 'v')});
  REQUIRE(parser.feed(first, &consumed) == ParseResult::kComplete);
  const char* key_data = parser.args()[1].data();
  const char* value_data = parser.args()[2].data();
  const std::string* slots = parser.args().data();

  const std::string second =
      multibulk({"SET", "another-key-longer-than-ss", std::string(900, 'w')});
  REQUIRE(parser.feed(second, &consumed) == ParseResult::kComplete);
  CHECK(parser.args()[1] == "another-key-longer-than-ss");
  CHECK(parser.args()[2] == std::string(900, 'w'));
  CHECK(parser.args().data() == slots);
  CHECK(parser.args()[1].data() == key_data);
  CHECK(parser.args()[2].data() == value_data);

  // A shorter request, then a longer one again: the surplus string is kept and handed back.
  REQUIRE(parser.feed("*1\r\n$4\r\nPING\r\n", &consumed) == ParseResult::kComplete);
  CHECK(parser.args().size() == 1);
  REQUIRE(parser.feed(multibulk({"SET", "k", std::string(800, 'x')}), &consumed) ==
          ParseResult::kComplete);
  CHECK(parser.args()[2] == std::string(800, 'x'));
  CHECK((parser.args()[2].data() == value_data || parser.args()[2].data() == key_data));
}

TEST_CASE("the server may move arguments out") {
  RequestParser parser;
  size_t consumed = 0;
  REQUIRE(parser.feed(multibulk({"SET", "k", "v"}), &consumed) == ParseResult::kComplete);
  std::vector<std::string> taken = std::move(parser.mutable_args());
  CHECK(taken == Args{"SET", "k", "v"});
  parser.mutable_args().clear();
  REQUIRE(parser.feed(multibulk({"GET", "k"}), &consumed) == ParseResult::kComplete);
  CHECK(parser.args() == Args{"GET", "k"});
}

TEST_CASE("a large bulk arriving in small reads is parsed in one pass") {
  const size_t kSize = 8 * 1024 * 1024;
  std::string value(kSize, 'z');
  value[12345] = '\r';
  value[kSize - 1] = '\n';
  const std::string input = multibulk({"SET", "big", value}) + "PING\r\n";
  std::vector<std::string> chunks;
  for (size_t i = 0; i < input.size(); i += 16 * 1024) chunks.push_back(input.substr(i, 16 * 1024));
  const Outcome got = run_chunks(chunks);
  REQUIRE(got.error == "");
  REQUIRE(got.requests.size() == 2);
  CHECK(got.requests[0][2] == value);
  CHECK(got.requests[1] == Args{"PING"});
}

TEST_CASE("a request with many arguments arriving in pieces is parsed in one pass") {
  Args mset = {"MSET"};
  for (int i = 0; i < 100000; ++i) mset.push_back("k" + std::to_string(i));
  const std::string input = multibulk(mset);
  std::vector<std::string> chunks;
  for (size_t i = 0; i < input.size(); i += 1000) chunks.push_back(input.substr(i, 1000));
  const Outcome got = run_chunks(chunks);
  REQUIRE(got.requests.size() == 1);
  CHECK(got.requests[0] == mset);
}

TEST_CASE("parse_resp_integer is strict") {
  int64_t v = 0;
  CHECK(kv::protocol::parse_resp_integer("0", &v));
  CHECK(v == 0);
  CHECK(kv::protocol::parse_resp_integer("-12", &v));
  CHECK(v == -12);
  CHECK(kv::protocol::parse_resp_integer("9223372036854775807", &v));
  CHECK(v == INT64_MAX);
  CHECK(kv::protocol::parse_resp_integer("-9223372036854775808", &v));
  CHECK(v == INT64_MIN);
  for (const char* bad : {"", "-", "-0", "00", "01", "+1", " 1", "1 ", "1a", "9223372036854775808",
                          "-9223372036854775809", "99999999999999999999"}) {
    CAPTURE(bad);
    CHECK_FALSE(kv::protocol::parse_resp_integer(bad, &v));
  }
}
