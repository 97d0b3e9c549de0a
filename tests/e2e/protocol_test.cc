// The node's wire protocol under hostile and heavy use, byte for byte: malformed requests
// get "-ERR Protocol error" and a closed connection while others are still served; stalled
// and idle connections block no one; pipelining, inline commands, unknown commands, QUIT.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "e2e/harness.h"

using namespace kv::e2e;

namespace {

// A connection that must still be answered, used as the bystander in hostile-input tests.
void check_served(RawConn& conn) {
  CHECK(conn.call({"PING"}) == "+PONG\r\n");
}

}  // namespace

TEST_CASE("malformed requests get -ERR Protocol error and a closed connection; others go on") {
  TempDir tmp;
  Node node = start_kvstore(tmp.sub("data"));
  RawConn bystander(node.port);
  check_served(bystander);

  const std::vector<std::pair<const char*, std::string>> hostile = {
      {"absurd bulk length", "*1\r\n$99999999999\r\n"},
      {"absurd array length", "*99999999999\r\n"},
      {"bulk length over 2^63", "*1\r\n$99999999999999999999999\r\n"},
      {"negative bulk length", "*1\r\n$-5\r\n"},
      {"non-numeric array length", "*abc\r\n"},
      {"non-numeric bulk length", "*2\r\n$3\r\nGET\r\n$x1\r\n"},
      {"missing $ before an argument", "*2\r\n$3\r\nGET\r\n:12\r\n"},
      {"unbalanced quotes inline", "SET \"abc def\r\n"},
      {"garbage without a newline past the inline limit", std::string(70 * 1024, '\x7f')},
  };
  for (const auto& [what, bytes] : hostile) {
    CAPTURE(what);
    RawConn conn(node.port);
    REQUIRE(conn.send(bytes));
    CHECK(conn.wait_closed());
    CHECK_MESSAGE(conn.buffered().starts_with("-ERR Protocol error"), "got: " << conn.buffered());
    check_served(bystander);
  }
  CHECK(node.process->running());
  // A fresh connection is served too.
  RawConn fresh(node.port);
  CHECK(fresh.call({"SET", "k", "v"}) == "+OK\r\n");
  CHECK(fresh.call({"GET", "k"}) == "$1\r\nv\r\n");
}

TEST_CASE("half-sent requests held open on many connections do not block others") {
  TempDir tmp;
  Node node = start_kvstore(tmp.sub("data"));
  const std::vector<std::string> halves = {
      "*3\r\n$3\r\nSET\r\n$1\r\nk",  // stopped inside the arguments
      "*2",                          // inside the count line
      "*1\r\n$4\r\nPI",              // inside a payload
      "*1\r\n$100000\r\n" + std::string(1000, 'x'),  // a big bulk barely begun
      "PIN",                         // an inline command without its newline
  };
  std::vector<std::unique_ptr<RawConn>> stalled;
  for (int i = 0; i < 100; ++i) {
    stalled.push_back(std::make_unique<RawConn>(node.port));
    REQUIRE(stalled.back()->send(halves[i % halves.size()]));
  }
  RawConn fresh(node.port);
  CHECK(fresh.call({"SET", "a", "1"}) == "+OK\r\n");
  CHECK(fresh.call({"GET", "a"}) == "$1\r\n1\r\n");

  // The stalled requests complete normally once their rest arrives.
  REQUIRE(stalled[0]->send("\r\n$1\r\nv\r\n"));
  CHECK(stalled[0]->read_reply() == "+OK\r\n");
  REQUIRE(stalled[2]->send("NG\r\n"));
  CHECK(stalled[2]->read_reply() == "+PONG\r\n");
  REQUIRE(stalled[4]->send("G\r\n"));
  CHECK(stalled[4]->read_reply() == "+PONG\r\n");
  CHECK(fresh.call({"GET", "k"}) == "$1\r\nv\r\n");
}

TEST_CASE("2000 idle connections open at once and a fresh client is still served") {
  constexpr int kIdle = 2000;
  REQUIRE(raise_fd_limit(kIdle + 512) >= kIdle + 512);
  TempDir tmp;
  Node node = start_kvstore(tmp.sub("data"));
  std::vector<std::unique_ptr<RawConn>> idle;
  idle.reserve(kIdle);
  for (int i = 0; i < kIdle; ++i) idle.push_back(std::make_unique<RawConn>(node.port));

  RawConn fresh(node.port);
  CHECK(fresh.call({"PING"}) == "+PONG\r\n");
  CHECK(fresh.call({"SET", "x", "y"}) == "+OK\r\n");
  // The idle ones are live connections, not a queue nobody accepted.
  CHECK(idle.front()->call({"GET", "x"}) == "$1\r\ny\r\n");
  CHECK(idle.back()->call({"GET", "x"}) == "$1\r\ny\r\n");
  auto clients = info_field(node_info(node.port, "clients"), "connected_clients");
  REQUIRE(clients.has_value());
  CHECK(std::stoi(*clients) >= kIdle + 1);
}

TEST_CASE("10,000 pipelined commands in one write get 10,000 replies in order") {
  TempDir tmp;
  Node node = start_kvstore(tmp.sub("data"), {"--fsync", "no"});
  constexpr int kCommands = 10000;
  std::string batch;
  for (int i = 0; i < kCommands; ++i) {
    batch += i % 2 == 0 ? resp_command({"INCR", "n"}) : resp_command({"ECHO", "m" + std::to_string(i)});
  }
  RawConn conn(node.port);
  // Write from a second thread while this one reads, so neither side's buffers can stall us.
  bool sent = false;
  std::thread sender([&] { sent = conn.send(batch); });
  int in_order = 0;
  std::string first_wrong;
  for (int i = 0; i < kCommands; ++i) {
    auto reply = conn.read_reply();
    if (!reply) break;
    std::string want = i % 2 == 0 ? ":" + std::to_string(i / 2 + 1) + "\r\n"
                                  : "$" + std::to_string(std::to_string(i).size() + 1) + "\r\nm" +
                                        std::to_string(i) + "\r\n";
    if (*reply == want) {
      ++in_order;
    } else if (first_wrong.empty()) {
      first_wrong = "reply " + std::to_string(i) + ": " + *reply + " (wanted " + want + ")";
    }
  }
  sender.join();
  CHECK(sent);
  CHECK_MESSAGE(in_order == kCommands, first_wrong);
  CHECK(conn.call({"GET", "n"}) == "$4\r\n5000\r\n");
}

TEST_CASE("inline commands work") {
  TempDir tmp;
  Node node = start_kvstore(tmp.sub("data"));
  RawConn conn(node.port);
  REQUIRE(conn.send("PING\r\n"));
  CHECK(conn.read_reply() == "+PONG\r\n");
  REQUIRE(conn.send("SET a b\n"));
  CHECK(conn.read_reply() == "+OK\r\n");
  REQUIRE(conn.send("GET a\r\n"));
  CHECK(conn.read_reply() == "$1\r\nb\r\n");
  REQUIRE(conn.send("SET \"two words\" 'x y'\r\nGET \"two words\"\r\n"));
  CHECK(conn.read_reply() == "+OK\r\n");
  CHECK(conn.read_reply() == "$3\r\nx y\r\n");
  // Inline and multibulk mixed on one connection.
  REQUIRE(conn.send("EXISTS a\r\n" + resp_command({"STRLEN", "a"})));
  CHECK(conn.read_reply() == ":1\r\n");
  CHECK(conn.read_reply() == ":1\r\n");
}

TEST_CASE("an unknown command is an error and the connection stays usable") {
  TempDir tmp;
  Node node = start_kvstore(tmp.sub("data"));
  RawConn conn(node.port);
  CHECK(conn.call({"FOO", "bar", "baz"}) ==
        "-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n");
  CHECK(conn.call({"FOO"}) == "-ERR unknown command 'FOO', with args beginning with: \r\n");
  CHECK(conn.call({"PING"}) == "+PONG\r\n");
  CHECK(conn.call({"SET", "k", "v"}) == "+OK\r\n");
}

TEST_CASE("QUIT replies +OK and closes the connection") {
  TempDir tmp;
  Node node = start_kvstore(tmp.sub("data"));
  RawConn conn(node.port);
  CHECK(conn.call({"QUIT"}) == "+OK\r\n");
  CHECK(conn.wait_closed());
  CHECK(conn.buffered().empty());
  RawConn other(node.port);
  CHECK(other.call({"PING"}) == "+PONG\r\n");
}
