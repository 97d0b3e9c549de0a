// kv_client's membership subcommands as values: the words they accept, and the member rows
// read from INFO raft texts of a leader, a follower, an older server and a standalone node.
#include "client/admin_command.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using kv::client::AdminKind;
using kv::client::format_member_rows;
using kv::client::is_admin_command;
using kv::client::MemberRow;
using kv::client::parse_admin_command;
using kv::client::parse_member_rows;

namespace {

// The usage or argument error parse_admin_command gives, "" if it accepts the words.
std::string refusal(const std::vector<std::string>& words) {
  auto r = parse_admin_command(words);
  if (r.ok()) return "";
  CHECK(r.status().is_invalid_argument());
  return r.status().message();
}

std::string crlf(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\r\n";
  return s;
}

}  // namespace

TEST_CASE("admin command: member and leader are kv_client's own; the rest goes raw") {
  CHECK(is_admin_command({"member", "list"}));
  CHECK(is_admin_command({"MEMBER"}));
  CHECK(is_admin_command({"Leader", "transfer", "2"}));
  CHECK_FALSE(is_admin_command({}));
  CHECK_FALSE(is_admin_command({"raft", "promote", "4"}));
  CHECK_FALSE(is_admin_command({"get", "member"}));
}

TEST_CASE("admin command: well-formed subcommands, any case") {
  auto add = parse_admin_command({"member", "ADD", "4", "127.0.0.1:9004"});
  REQUIRE(add.ok());
  CHECK(add->kind == AdminKind::kMemberAdd);
  CHECK(add->id == 4);
  CHECK(add->addr == "127.0.0.1:9004");

  auto v6 = parse_admin_command({"member", "add", "12", "::1:9012"});
  REQUIRE(v6.ok());
  CHECK(v6->addr == "::1:9012");

  auto remove = parse_admin_command({"Member", "remove", "3"});
  REQUIRE(remove.ok());
  CHECK(remove->kind == AdminKind::kMemberRemove);
  CHECK(remove->id == 3);

  auto list = parse_admin_command({"member", "list"});
  REQUIRE(list.ok());
  CHECK(list->kind == AdminKind::kMemberList);

  auto transfer = parse_admin_command({"leader", "transfer", "18446744073709551615"});
  REQUIRE(transfer.ok());
  CHECK(transfer->kind == AdminKind::kLeaderTransfer);
  CHECK(transfer->id == 18446744073709551615ull);
}

TEST_CASE("admin command: bad words get one usage or argument line") {
  CHECK(refusal({"member", "add", "4"}) == "usage: member add ID HOST:PORT");
  CHECK(refusal({"member", "add", "4", "h:1", "extra"}) == "usage: member add ID HOST:PORT");
  CHECK(refusal({"member", "remove"}) == "usage: member remove ID");
  CHECK(refusal({"member", "list", "all"}) == "usage: member list");
  CHECK(refusal({"leader"}) == "usage: leader transfer ID");
  CHECK(refusal({"leader", "step-down", "2"}) == "usage: leader transfer ID");
  CHECK(refusal({"member"}).find("usage: member add ID HOST:PORT | member remove ID") == 0);
  CHECK(refusal({"member", "promote", "4"}).find("usage:") == 0);

  CHECK(refusal({"member", "remove", "0"}) == "node id '0': must be a number >= 1");
  CHECK(refusal({"member", "remove", "four"}) == "node id 'four': must be a number >= 1");
  CHECK(refusal({"member", "remove", "-4"}) == "node id '-4': must be a number >= 1");
  CHECK(refusal({"leader", "transfer", "18446744073709551616"}).find("node id") == 0);
  CHECK(refusal({"member", "add", "x", "h:1"}).find("node id 'x'") == 0);

  CHECK(refusal({"member", "add", "4", "nohost"}) == "address 'nohost': not host:port");
  CHECK(refusal({"member", "add", "4", ":9004"}) == "address ':9004': host is empty");
  CHECK(refusal({"member", "add", "4", "h:0"}) == "address 'h:0': port must be 1-65535");
  CHECK(refusal({"member", "add", "4", "h:65536"}) == "address 'h:65536': port must be 1-65535");
  CHECK(refusal({"member", "add", "4", "h:"}) == "address 'h:': port must be 1-65535");
}

TEST_CASE("member rows: the leader's INFO gives every member with match and lag") {
  const std::string info = crlf({
      "# Raft",
      "role:leader",
      "node_id:2",
      "term:7",
      "leader_id:2",
      "leader_addr:127.0.0.1:9002",
      "commit_index:120",
      "applied_index:120",
      "last_index:121",
      "snapshot_index:0",
      "members:4",
      "voters:1,2,3",
      "learners:4",
      "config_pending:0",
      "peer_1:addr=127.0.0.1:9001,match=121,lag=0,link=up,role=voter",
      "peer_3:link=down,role=voter,lag=21,match=100,addr=127.0.0.1:9003",
      "peer_4:addr=10.0.0.4:9004,match=17,lag=104,link=up,role=learner",
  });
  std::vector<MemberRow> rows = parse_member_rows(info, "localhost:9002");
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].id == 1);
  CHECK(rows[0].addr == "127.0.0.1:9001");
  CHECK(rows[0].role == "voter");
  CHECK(rows[0].match == 121);
  CHECK(rows[0].lag == 0);
  // The leader itself: its address from leader_addr, its last index as its match.
  CHECK(rows[1].id == 2);
  CHECK(rows[1].addr == "127.0.0.1:9002");
  CHECK(rows[1].role == "leader");
  CHECK(rows[1].match == 121);
  CHECK(rows[1].lag == 0);
  // Attributes are read by key, not position.
  CHECK(rows[2].addr == "127.0.0.1:9003");
  CHECK(rows[2].match == 100);
  CHECK(rows[2].lag == 21);
  CHECK(rows[3].id == 4);
  CHECK(rows[3].role == "learner");
  CHECK(rows[3].addr == "10.0.0.4:9004");
  CHECK(rows[3].lag == 104);

  CHECK(format_member_rows(rows, false) ==
        "1\t127.0.0.1:9001\tvoter\t121\t0\n"
        "2\t127.0.0.1:9002\tleader\t121\t0\n"
        "3\t127.0.0.1:9003\tvoter\t100\t21\n"
        "4\t10.0.0.4:9004\tlearner\t17\t104\n");
  CHECK(format_member_rows(rows, true) ==
        "ID  ADDR            ROLE     MATCH  LAG\n"
        "1   127.0.0.1:9001  voter    121    0\n"
        "2   127.0.0.1:9002  leader   121    0\n"
        "3   127.0.0.1:9003  voter    100    21\n"
        "4   10.0.0.4:9004   learner  17     104\n");
}

TEST_CASE("member rows: a follower knows roles and addresses but not match or lag") {
  const std::string info = crlf({
      "# Raft",
      "role:follower",
      "node_id:3",
      "term:7",
      "leader_id:2",
      "leader_addr:127.0.0.1:9002",
      "last_index:121",
      "voters:1,2,3",
      "learners:",
      "peer_1:addr=127.0.0.1:9001,link=up,role=voter",
      "peer_2:addr=127.0.0.1:9002,link=up,role=voter",
      // A link the node still has to a member that left: not in the configuration.
      "peer_9:addr=127.0.0.1:9009,link=down,role=voter",
  });
  std::vector<MemberRow> rows = parse_member_rows(info, "127.0.0.1:9003");
  REQUIRE(rows.size() == 3);
  CHECK(rows[1].role == "leader");
  CHECK(rows[2].id == 3);
  CHECK(rows[2].addr == "127.0.0.1:9003");  // its own: the address kv_client used
  CHECK(rows[2].role == "voter");
  for (const auto& r : rows) {
    CHECK_FALSE(r.match.has_value());
    CHECK_FALSE(r.lag.has_value());
  }
  CHECK(format_member_rows(rows, false) ==
        "1\t127.0.0.1:9001\tvoter\t-\t-\n"
        "2\t127.0.0.1:9002\tleader\t-\t-\n"
        "3\t127.0.0.1:9003\tvoter\t-\t-\n");
}

TEST_CASE("member rows: an older server (no voters/learners) and a standalone node") {
  const std::string old_leader = crlf({
      "role:leader",
      "node_id:1",
      "leader_id:1",
      "leader_addr:127.0.0.1:9001",
      "last_index:5",
      "members:3",
      "peer_2:addr=127.0.0.1:9002,match=5,lag=0,link=up",
      "peer_3:addr=127.0.0.1:9003,match=4,lag=1,link=up",
  });
  std::vector<MemberRow> rows = parse_member_rows(old_leader, "x");
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].role == "leader");
  CHECK(rows[1].role == "voter");
  CHECK(rows[2].lag == 1);

  const std::string standalone =
      crlf({"# Raft", "role:leader", "node_id:1", "term:1", "leader_id:1",
            "leader_addr:127.0.0.1:7000", "last_index:0", "members:1"});
  rows = parse_member_rows(standalone, "localhost:7000");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].addr == "127.0.0.1:7000");
  CHECK(rows[0].role == "leader");
  CHECK(rows[0].match == 0);

  CHECK(parse_member_rows("# Server\r\nredis_version:7.0\r\n", "x").empty());
}

TEST_CASE("member rows: a node that is not in the configuration lists the others only") {
  // A --join node before it is added has no configuration; one removed knows the new one.
  const std::string removed = crlf({"role:follower", "node_id:4", "leader_id:1", "voters:1,2,3",
                                    "learners:", "peer_1:addr=h:1,link=up,role=voter"});
  std::vector<MemberRow> rows = parse_member_rows(removed, "h:4");
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].role == "leader");
  CHECK(rows[2].id == 3);
  CHECK(rows[2].addr.empty());
  CHECK(format_member_rows(rows, false).find("3\t-\tvoter\t-\t-\n") != std::string::npos);
}
