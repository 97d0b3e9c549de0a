// Server flags that need parsing beyond CLI11: the --peers list.
#include "server/config.h"

#include <doctest/doctest.h>

TEST_CASE("config: --peers parses id=host:port lists and names what is wrong") {
  using kv::server::parse_peers;
  using kv::server::PeerAddress;
  std::vector<PeerAddress> peers;
  CHECK(parse_peers("1=127.0.0.1:9001,2=127.0.0.1:9002,3=db3.example:9003", &peers).empty());
  REQUIRE(peers.size() == 3);
  CHECK(peers[0].id == 1);
  CHECK(peers[1].addr() == "127.0.0.1:9002");
  CHECK(peers[2].host == "db3.example");
  CHECK(peers[2].port == 9003);
  CHECK(parse_peers("2=::1:9002", &peers).empty());
  CHECK(peers[0].host == "::1");

  std::vector<PeerAddress> untouched = peers;
  CHECK(parse_peers("", &peers) == "the peer list is empty");
  CHECK(parse_peers("1=nohost", &peers) == "peer '1=nohost': not host:port");
  CHECK(parse_peers("x=h:1", &peers) == "peer 'x=h:1': id must be a number >= 1");
  CHECK(parse_peers("0=h:1", &peers) == "peer '0=h:1': id must be a number >= 1");
  CHECK(parse_peers("1=:9001", &peers) == "peer '1=:9001': host is empty");
  CHECK(parse_peers("1=h:70000", &peers) == "peer '1=h:70000': port must be 1-65535");
  CHECK(parse_peers("1=h:1,1=g:2", &peers) == "peer id 1 is listed twice");
  CHECK(parse_peers("1=h:1,2=h:1", &peers) == "peer address h:1 is listed twice");
  CHECK(peers.size() == untouched.size());  // untouched on error
}

TEST_CASE("config: parse_address reads host:port for RAFT ADDLEARNER") {
  using kv::server::parse_address;
  using kv::server::PeerAddress;
  PeerAddress a;
  a.id = 7;
  CHECK(parse_address("10.0.0.4:9001", &a).empty());
  CHECK(a.host == "10.0.0.4");
  CHECK(a.port == 9001);
  CHECK(a.id == 7);  // left alone
  CHECK(parse_address("::1:9002", &a).empty());
  CHECK(a.host == "::1");
  CHECK(parse_address("nohost", &a) == "not host:port");
  CHECK(parse_address(":1", &a) == "host is empty");
  CHECK(parse_address("h:0", &a) == "port must be 1-65535");
  CHECK(parse_address("h:x", &a) == "port must be 1-65535");
  CHECK(a.host == "::1");  // untouched on error
}
