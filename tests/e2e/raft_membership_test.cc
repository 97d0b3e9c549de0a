// Live membership changes of the real kvstore, end to end: RAFT ADDLEARNER / PROMOTE /
// REMOVE / TRANSFER from an operator who sent AUTH with the cluster secret, --join nodes,
// the configuration surviving restarts and snapshots, and client writes riding through
// leadership transfers without an error. Ports are picked at run time; every process is
// killed by pid when its RaftGroup goes. No sleeps: waits poll a condition with a deadline.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "e2e/raft_group.h"
#include "testing/background_writer.h"

using namespace kv::e2e;
using kv::protocol::Reply;
using kv::testing::BackgroundWriter;

namespace {

// A connection that sent AUTH with the cluster secret.
kv::client::Client admin_client(uint16_t port) {
  auto c = connect_client(port);
  Reply r = must_call(c, {"AUTH", kSecret});
  REQUIRE_MESSAGE(r.type == Reply::Type::kSimpleString, "AUTH replied " << r.to_display());
  return c;
}

std::string addr(RaftGroup& g, int id) { return "127.0.0.1:" + std::to_string(g.port(id)); }

// Sends RAFT argv until it is not -TRYAGAIN (a learner still catching up, a change pending)
// and returns that reply.
Reply raft_until_settled(kv::client::Client& c, const std::vector<std::string>& argv) {
  Reply last;
  eventually(
      [&] {
        last = must_call(c, argv);
        return !(last.type == Reply::Type::kError && last.str.starts_with("TRYAGAIN"));
      },
      20s);
  return last;
}

void require_ok(const Reply& r, const std::string& what) {
  INFO(what << " replied " << r.to_display());
  REQUIRE(r.type == Reply::Type::kSimpleString);
  REQUIRE(r.str == "OK");
}

void require_error(const Reply& r, const std::string& prefix, const std::string& what) {
  INFO(what << " replied " << r.to_display());
  CHECK(r.type == Reply::Type::kError);
  CHECK(r.str.starts_with(prefix));
}

// Polls until node id reports `field` == value in INFO raft.
bool wait_field(RaftGroup& g, int id, const std::string& field, const std::string& value,
                std::chrono::milliseconds timeout = 15s) {
  return eventually(
      [&] {
        auto info = try_node_info(g.port(id), "raft");
        return info && info_field(*info, field) == value;
      },
      timeout);
}

}  // namespace

TEST_CASE("raft membership: a --join node is added as a learner, promoted, serves, and is removed") {
  RaftGroup g(3);
  const int leader = g.wait_for_leader();
  const int follower = g.other_than({leader});
  std::map<std::string, std::string> before;
  for (int i = 0; i < 200; ++i) before["before:" + std::to_string(i)] = "v" + std::to_string(i);
  {
    auto c = connect_client(g.port(leader));
    set_all(c, before);
  }

  const int joiner = g.add_joiner();
  INFO(g.report());
  CHECK(wait_field(g, joiner, "role", "joining"));

  // Through a follower: it forwards the change to the leader and relays the reply.
  auto admin = admin_client(g.port(follower));
  require_ok(must_call(admin, {"RAFT", "ADDLEARNER", std::to_string(joiner), addr(g, joiner)}),
             "RAFT ADDLEARNER");
  CHECK(wait_field(g, joiner, "role", "learner"));
  require_ok(raft_until_settled(admin, {"RAFT", "PROMOTE", std::to_string(joiner)}), "RAFT PROMOTE");

  for (int id : {1, 2, 3, joiner}) {
    INFO("node " << id << ":\n" << g.raft_info(id));
    CHECK(wait_field(g, id, "voters", "1,2,3,4"));
    CHECK(wait_field(g, id, "members", "4"));
  }
  CHECK(wait_field(g, joiner, "role", "follower"));
  const std::string leader_info = g.raft_info(leader);
  auto peer = info_field(leader_info, "peer_" + std::to_string(joiner));
  REQUIRE_MESSAGE(peer.has_value(), leader_info);
  CHECK(peer->starts_with("addr=" + addr(g, joiner) + ","));
  CHECK(peer->find("role=voter") != std::string::npos);

  // The new member holds what was written before it existed, in its own state...
  auto local = readonly_client(g.port(joiner));
  CHECK(count_wrong(local, before) == 0);
  // ...and takes writes like any member.
  {
    auto c = connect_client(g.port(joiner));
    require_ok(must_call(c, {"SET", "via-joiner", "yes"}), "SET through the new member");
    auto other = connect_client(g.port(follower));
    CHECK(must_call(other, {"GET", "via-joiner"}).str == "yes");
  }

  require_ok(must_call(admin, {"RAFT", "REMOVE", std::to_string(joiner)}), "RAFT REMOVE");
  for (int id : {1, 2, 3}) CHECK(wait_field(g, id, "voters", "1,2,3"));
  // The removed node may or may not have seen its own removal (the others commit it without
  // waiting for it); either way it cannot lead or disturb the rest.
  auto role = info_field(g.raft_info(joiner), "role");
  CHECK(role != "leader");
  auto c = connect_client(g.port(leader));
  require_ok(must_call(c, {"SET", "after-removal", "1"}), "SET after removing the new member");
}

TEST_CASE("raft membership: removing the leader hands leadership over; the rest keep serving") {
  RaftGroup g(3);
  const int leader = g.wait_for_leader();
  const int a = g.other_than({leader});
  const int b = g.other_than({leader, a});
  INFO(g.report());
  BackgroundWriter writer("r", {g.port(b)});
  CHECK(writer.wait_progress(20));
  auto admin = admin_client(g.port(a));
  require_ok(must_call(admin, {"RAFT", "REMOVE", std::to_string(leader)}), "RAFT REMOVE <leader>");

  const int next = g.wait_for_leader(10s, {a, b});
  CHECK(next != leader);
  CHECK(wait_field(g, leader, "role", "removed"));
  const std::string voters = std::to_string(std::min(a, b)) + "," + std::to_string(std::max(a, b));
  CHECK(wait_field(g, a, "voters", voters));
  CHECK(wait_field(g, b, "voters", voters));
  // The leader handed over before it left: writes through b saw no error.
  CHECK(writer.wait_progress(20));
  writer.stop();
  INFO("first error: " << writer.first_error());
  CHECK(writer.errors().empty());
  CHECK(writer.reconnects() == 0);
  auto c = connect_client(g.port(b));
  require_ok(must_call(c, {"SET", "k", "after the leader left"}), "SET after removing the leader");
  auto r = connect_client(g.port(a));
  CHECK(must_call(r, {"GET", "k"}).str == "after the leader left");
}

TEST_CASE("raft membership: RAFT needs AUTH; bad requests and unsafe changes get one error line") {
  RaftGroup g(3);
  const int leader = g.wait_for_leader();
  const int follower = g.other_than({leader});
  const int other = g.other_than({leader, follower});
  INFO(g.report());

  auto anon = connect_client(g.port(leader));
  require_error(must_call(anon, {"RAFT", "REMOVE", "2"}), "NOAUTH", "RAFT without AUTH");
  require_error(must_call(anon, {"AUTH", "not-the-secret"}), "WRONGPASS", "AUTH with a wrong secret");
  require_error(must_call(anon, {"RAFT", "REMOVE", "2"}), "NOAUTH", "RAFT after a failed AUTH");

  auto admin = admin_client(g.port(follower));
  require_error(must_call(admin, {"RAFT", "FROBNICATE", "2"}), "ERR usage: RAFT", "an unknown subcommand");
  require_error(must_call(admin, {"RAFT", "ADDLEARNER", "9"}), "ERR usage: RAFT", "ADDLEARNER without address");
  require_error(must_call(admin, {"RAFT", "REMOVE", "zero"}), "ERR 'zero' is not a node id", "a bad id");
  require_error(must_call(admin, {"RAFT", "ADDLEARNER", "9", "nohost"}), "ERR address 'nohost'", "a bad address");
  require_error(must_call(admin, {"RAFT", "ADDLEARNER", "2", "127.0.0.1:1"}), "ERR node 2", "adding a member");
  require_error(must_call(admin, {"RAFT", "PROMOTE", "9"}), "ERR node 9", "promoting a stranger");
  require_error(must_call(admin, {"RAFT", "REMOVE", "9"}), "ERR node 9", "removing a stranger");
  require_error(must_call(admin, {"RAFT", "TRANSFER", "9"}), "ERR node 9 is not a voter", "TRANSFER to a stranger");
  CHECK(g.raft_info(leader).find("voters:1,2,3") != std::string::npos);

  // With one voter down, removing a live one would leave {live, dead}: no majority.
  g.kill(other);
  // Until the leader notices, `other` still counts as reachable.
  CHECK(eventually(
      [&] {
        auto peer = info_field(g.raft_info(leader), "peer_" + std::to_string(other));
        return peer && peer->find("active=0") != std::string::npos;
      },
      10s));
  const std::string victim = std::to_string(follower);
  Reply r = raft_until_settled(admin, {"RAFT", "REMOVE", victim});
  require_error(r, "ERR node " + victim, "a removal that would lose the quorum");
  CHECK(r.str.find("majority") != std::string::npos);
  CHECK(info_field(g.raft_info(leader), "voters") == "1,2,3");

  // A standalone node has no group to change.
  TempDir tmp;
  Node solo = start_kvstore(tmp.sub("solo"));
  auto c = connect_client(solo.port);
  require_error(must_call(c, {"RAFT", "REMOVE", "1"}), "ERR RAFT commands need a replicated node", "standalone");
  require_error(must_call(c, {"AUTH", "x"}), "ERR AUTH called without a cluster secret", "standalone AUTH");
}

TEST_CASE("raft membership: the configuration survives snapshots, a joiner caught up by snapshot, and kill -9 of all") {
  RaftGroup g(3, {"--snapshot-wal-bytes", "8192"});
  const int leader = g.wait_for_leader();
  INFO(g.report());
  const int joiner = g.add_joiner();
  auto admin = admin_client(g.port(leader));
  require_ok(must_call(admin, {"RAFT", "ADDLEARNER", std::to_string(joiner), addr(g, joiner)}), "ADDLEARNER");
  require_ok(raft_until_settled(admin, {"RAFT", "PROMOTE", std::to_string(joiner)}), "PROMOTE");
  const int gone = g.other_than({leader, joiner});
  require_ok(must_call(admin, {"RAFT", "REMOVE", std::to_string(gone)}), "REMOVE");
  g.kill(gone);
  // REMOVE answered once its entry committed: the last configuration entry is at or below this.
  const uint64_t config_index = number_field(g.raft_info(leader), "commit_index");

  // Enough writes that every remaining node snapshots past the config entries.
  std::map<std::string, std::string> kvs;
  for (int i = 0; i < 400; ++i) kvs["key:" + std::to_string(i)] = std::string(100, static_cast<char>('a' + i % 26));
  {
    auto c = connect_client(g.port(leader));
    set_all(c, kvs);
  }
  std::set<int> alive;
  for (int id = 1; id <= g.size(); ++id) {
    if (id == gone) continue;
    alive.insert(id);
    CHECK_MESSAGE(eventually([&] { return number_field(g.raft_info(id), "snapshot_index") > config_index; }, 20s),
                  "node " << id << " never snapshotted past the configuration change");
  }
  // A node joining now finds the configuration entries trimmed from every log: it learns the
  // group (and its own membership) from the snapshot the leader sends it.
  const int late = g.add_joiner();
  require_ok(must_call(admin, {"RAFT", "ADDLEARNER", std::to_string(late), addr(g, late)}), "ADDLEARNER late");
  require_ok(raft_until_settled(admin, {"RAFT", "PROMOTE", std::to_string(late)}), "PROMOTE late");
  CHECK(number_field(g.raft_info(late), "snapshot_index") > config_index);
  alive.insert(late);
  std::string voters;
  for (int id : alive) voters += (voters.empty() ? "" : ",") + std::to_string(id);

  for (int id : alive) g.kill(id);
  for (int id : alive) g.start(id);
  const int next = g.wait_for_leader(15s, alive);
  for (int id : alive) {
    CHECK(wait_field(g, id, "voters", voters));
    CHECK(wait_field(g, id, "members", "4"));
  }
  auto c = connect_client(g.port(next));
  CHECK(count_wrong(c, kvs) == 0);
  require_ok(must_call(c, {"SET", "after-restart", "1"}), "SET after the restart");
}

TEST_CASE("raft membership: writes during leadership transfers wait for the new leader, never fail") {
  RaftGroup g(3);
  int leader = g.wait_for_leader();
  const int steady = g.other_than({leader});  // the writer's node; leadership moves around it
  INFO(g.report());
  BackgroundWriter writer("w", {g.port(steady)});
  auto admin = admin_client(g.port(steady));
  for (int round = 0; round < 3; ++round) {
    const int target = g.other_than({leader});
    CHECK(writer.wait_progress(20));  // writes are flowing
    // TRYAGAIN: the target did not win in time (a slow machine); asking again is the protocol.
    require_ok(raft_until_settled(admin, {"RAFT", "TRANSFER", std::to_string(target)}), "RAFT TRANSFER");
    leader = g.wait_for_leader();
    CHECK(leader == target);
  }
  CHECK(writer.wait_progress(20));
  writer.stop();
  INFO("first error: " << writer.first_error());
  CHECK(writer.errors().empty());
  CHECK(writer.reconnects() == 0);
}

TEST_CASE("raft membership: SIGTERM of the leader hands leadership over first; clients see no error") {
  RaftGroup g(3);
  const int leader = g.wait_for_leader();
  const int steady = g.other_than({leader});
  INFO(g.report());
  BackgroundWriter writer("t", {g.port(steady)});
  CHECK(writer.wait_progress(20));
  CHECK(g.stop(leader) == 0);
  CHECK(g.log(leader).find("handing leadership to node") != std::string::npos);
  const int next = g.wait_for_leader(10s, {steady, g.other_than({leader, steady})});
  CHECK(next != leader);
  CHECK(writer.wait_progress(20));
  writer.stop();
  INFO("first error: " << writer.first_error());
  CHECK(writer.errors().empty());
  CHECK(writer.reconnects() == 0);
}
