// Raft mode of the real kvstore, end to end: three-node groups on ports picked at run time,
// each node in its own data dir under a TempDir, every process killed by pid when the test
// ends (RaftGroup owns them). What is asserted is what a client relies on
// (notes/raft_contract.md): one leader, writes and linearizable reads through any node, no
// acknowledged write lost when the leader dies, no write acknowledged without a majority,
// restarted nodes catch up (by log or by snapshot), peers authenticate, bad flags exit 2.
// No sleeps: every wait polls a condition with a deadline.
#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e/raft_group.h"

using namespace kv::e2e;
using kv::protocol::Reply;

namespace {

// A write that must not be acknowledged: an error reply CLUSTERDOWN/TRYAGAIN or no reply
// within the client's timeout are fine; +OK (or any other reply) is not.
void check_not_acknowledged(uint16_t port, const std::vector<std::string>& argv) {
  auto c = kv::client::Client::connect("127.0.0.1", port);
  REQUIRE(c.ok());
  c->set_timeout(2s);
  auto r = c->call(argv);
  if (!r.ok()) return;  // no reply within 2 s: outcome unknown, which is allowed
  INFO(argv[0] << " without a majority replied " << r->to_display());
  CHECK(r->type == Reply::Type::kError);
  CHECK((r->str.starts_with("CLUSTERDOWN") || r->str.starts_with("TRYAGAIN")));
}

}  // namespace

TEST_CASE("raft: a three-node group elects one leader that every node names") {
  RaftGroup g(3);
  const int leader = g.wait_for_leader();
  INFO(g.report());
  const std::string leader_info = g.raft_info(leader);
  const std::string term = info_field(leader_info, "term").value_or("?");
  CHECK(std::stoull(term) >= 1);
  for (int id = 1; id <= 3; ++id) {
    const std::string info = g.raft_info(id);
    INFO("node " << id << ":\n" << info);
    CHECK(info_field(info, "role") == (id == leader ? "leader" : "follower"));
    CHECK(info_field(info, "node_id") == std::to_string(id));
    CHECK(info_field(info, "term") == term);
    CHECK(info_field(info, "leader_id") == std::to_string(leader));
    CHECK(info_field(info, "leader_addr") == "127.0.0.1:" + std::to_string(g.port(leader)));
    CHECK(info_field(info, "members") == "3");
  }
  // The leader lists every other member with the address it was given.
  for (int id = 1; id <= 3; ++id) {
    if (id == leader) continue;
    auto peer = info_field(leader_info, "peer_" + std::to_string(id));
    REQUIRE_MESSAGE(peer.has_value(), "leader's INFO has no peer_" << id);
    CHECK(peer->starts_with("addr=127.0.0.1:" + std::to_string(g.port(id)) + ","));
  }
}

TEST_CASE("raft: the voters live in the log; restarting with a longer --peers does not change them") {
  RaftGroup g(3);
  int leader = g.wait_for_leader();
  {
    auto c = connect_client(g.port(leader));
    REQUIRE(must_call(c, {"SET", "before", "1"}).str == "OK");
  }
  for (int id = 1; id <= 3; ++id) REQUIRE(g.stop(id) == 0);
  // Two more members in --peers, neither running: were they voters, a majority would need
  // three of five and the group's own majority of three would lose its say.
  g.name_in_peers(4, pick_free_ports(1).at(0));
  g.name_in_peers(5, pick_free_ports(1).at(0));
  for (int id = 1; id <= 3; ++id) g.start(id);
  leader = g.wait_for_leader();
  INFO(g.report());
  for (int id = 1; id <= 3; ++id) {
    const std::string info = g.raft_info(id);
    CHECK(info_field(info, "voters") == "1,2,3");
    CHECK(info_field(info, "members") == "3");
  }
  auto c = connect_client(g.port(leader));
  CHECK(must_call(c, {"GET", "before"}).str == "1");
  CHECK(must_call(c, {"SET", "after", "2"}).str == "OK");
}

TEST_CASE("raft: writes arriving together share log entries; each client gets its replies in order") {
  RaftGroup g(3);
  const int leader = g.wait_for_leader();
  const int follower = g.other_than({leader});
  INFO(g.report());
  const uint64_t commit_before = number_field(g.raft_info(leader), "commit_index");
  // Eight connections to the leader and two through a follower, each sends 200 INCRs of its
  // own counter before reading anything: the leader sees them arrive together.
  constexpr int kClients = 10;
  constexpr int kIncrs = 200;
  std::vector<kv::client::Client> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(connect_client(g.port(i < 8 ? leader : follower)));
  for (int n = 0; n < kIncrs; ++n) {
    for (int i = 0; i < kClients; ++i) REQUIRE(clients[i].send({"INCR", "ctr:" + std::to_string(i)}).ok());
  }
  for (int i = 0; i < kClients; ++i) {
    for (int n = 1; n <= kIncrs; ++n) {
      auto r = clients[i].read_reply();
      REQUIRE_MESSAGE(r.ok(), "client " << i << " reply " << n << ": " << r.status().ToString());
      REQUIRE_MESSAGE(r->type == Reply::Type::kInteger, "client " << i << " reply " << n << ": " << r->to_display());
      CHECK(r->integer == n);
    }
  }
  const uint64_t entries = number_field(g.raft_info(leader), "commit_index") - commit_before;
  MESSAGE((kClients * kIncrs) << " writes took " << entries << " log entries");
  CHECK(entries * 4 < static_cast<uint64_t>(kClients * kIncrs));
  // Every node applied the batches the same way.
  for (int id = 1; id <= 3; ++id) {
    REQUIRE(g.wait_applied(id, number_field(g.raft_info(leader), "commit_index")));
    auto ro = readonly_client(g.port(id));
    for (int i = 0; i < kClients; ++i) {
      CHECK(must_call(ro, {"GET", "ctr:" + std::to_string(i)}).str == std::to_string(kIncrs));
    }
  }
}

TEST_CASE("raft: writes through a follower are read back through every node") {
  RaftGroup g(3);
  const int leader = g.wait_for_leader();
  const int follower = g.other_than({leader});
  const int other = g.other_than({leader, follower});
  INFO(g.report());

  {
    auto c = connect_client(g.port(follower));
    Reply r = must_call(c, {"SET", "greeting", "hello via follower"});
    INFO("SET through follower " << follower << " replied " << r.to_display());
    REQUIRE(r.type == Reply::Type::kSimpleString);
    CHECK(r.str == "OK");
  }
  // Linearizable GET (no READONLY): every node, followers included, sees the acknowledged write.
  for (int id : {other, leader, follower}) {
    auto c = connect_client(g.port(id));
    Reply r = must_call(c, {"GET", "greeting"});
    INFO("GET through node " << id << " replied " << r.to_display());
    CHECK(r.type == Reply::Type::kBulkString);
    CHECK(r.str == "hello via follower");
  }
  // Overwritten through the leader, read at once through the followers.
  {
    auto c = connect_client(g.port(leader));
    CHECK(must_call(c, {"SET", "greeting", "second"}).str == "OK");
    for (int id : {follower, other}) {
      auto f = connect_client(g.port(id));
      Reply r = must_call(f, {"GET", "greeting"});
      INFO("GET through node " << id << " after overwrite replied " << r.to_display());
      CHECK(r.str == "second");
    }
  }

  // INCR through all three nodes at once: each reply a distinct count, final = number of INCRs.
  constexpr int kPerNode = 30;
  std::vector<std::vector<std::string>> outcomes(4);  // per node: "ok:<n>" or what went wrong
  std::vector<std::thread> threads;
  for (int id = 1; id <= 3; ++id) {
    threads.emplace_back([&, id] {
      auto c = kv::client::Client::connect("127.0.0.1", g.port(id));
      if (!c.ok()) {
        outcomes[id].push_back("connect: " + c.status().ToString());
        return;
      }
      c->set_timeout(10s);
      for (int i = 0; i < kPerNode; ++i) {
        auto r = c->call({"INCR", "counter"});
        if (!r.ok()) {
          outcomes[id].push_back("io: " + r.status().ToString());
          return;
        }
        outcomes[id].push_back(r->type == Reply::Type::kInteger ? "ok:" + std::to_string(r->integer)
                                                                : "reply: " + r->to_display());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<int64_t> counts;
  for (int id = 1; id <= 3; ++id) {
    for (const auto& o : outcomes[id]) {
      INFO("INCR through node " << id << ": " << o);
      REQUIRE(o.starts_with("ok:"));
      CHECK(counts.insert(std::stoll(o.substr(3))).second);  // no two INCRs saw the same count
    }
  }
  REQUIRE(counts.size() == 3 * kPerNode);
  CHECK(*counts.begin() == 1);
  CHECK(*counts.rbegin() == 3 * kPerNode);
  for (int id = 1; id <= 3; ++id) {
    auto c = connect_client(g.port(id));
    Reply r = must_call(c, {"GET", "counter"});
    INFO("GET counter through node " << id << " replied " << r.to_display());
    CHECK(r.str == std::to_string(3 * kPerNode));
  }
}

TEST_CASE("raft: without a majority nothing is acknowledged; with one back, writes resume") {
  RaftGroup g(3);
  const int leader = g.wait_for_leader();
  const int f1 = g.other_than({leader});
  const int f2 = g.other_than({leader, f1});
  INFO(g.report());
  {
    auto c = connect_client(g.port(leader));
    CHECK(must_call(c, {"SET", "before", "1"}).str == "OK");
  }
  g.kill(f1);
  g.kill(f2);

  // The survivor (the old leader, alone) can neither commit a write nor confirm a read.
  check_not_acknowledged(g.port(leader), {"SET", "lonely", "x"});
  check_not_acknowledged(g.port(leader), {"INCR", "lonely-counter"});
  {
    auto c = kv::client::Client::connect("127.0.0.1", g.port(leader));
    REQUIRE(c.ok());
    c->set_timeout(2s);
    auto r = c->call({"GET", "before"});
    if (r.ok()) {
      // A stale leader answering a linearizable read from its own state would be a bug.
      INFO("linearizable GET on a node without a majority replied " << r->to_display());
      CHECK(r->type == Reply::Type::kError);
    }
  }
  auto lone = g.raft_info(leader);
  INFO("survivor alone:\n" << lone);

  g.start(f1);
  const int new_leader = g.wait_for_leader();
  INFO("leader after restart: " << new_leader);
  // Through the survivor, whatever its role now.
  auto c = connect_client(g.port(leader));
  c.set_timeout(5s);
  Reply r = must_call(c, {"SET", "after", "2"});
  INFO("SET after one node came back replied " << r.to_display());
  CHECK(r.str == "OK");
  for (int id : {leader, f1}) {
    auto rc = connect_client(g.port(id));
    CHECK(must_call(rc, {"GET", "after"}).str == "2");
    CHECK(must_call(rc, {"GET", "before"}).str == "1");
  }
}

TEST_CASE("raft: leader failover loses no acknowledged write; the old leader catches up") {
  RaftGroup g(3);
  const int leader = g.wait_for_leader();
  const int follower = g.other_than({leader});
  INFO(g.report());

  // 200 keys, half through the leader, half through a follower, every one acknowledged.
  std::map<std::string, std::string> through_leader, through_follower;
  for (int i = 0; i < 200; ++i) {
    auto& dest = i % 2 == 0 ? through_leader : through_follower;
    dest["key:" + std::to_string(i)] = "v1-" + std::to_string(i);
  }
  {
    auto cl = connect_client(g.port(leader));
    auto cf = connect_client(g.port(follower));
    set_all(cl, through_leader);
    set_all(cf, through_follower);
  }
  std::map<std::string, std::string> expected = through_leader;
  expected.insert(through_follower.begin(), through_follower.end());

  g.kill(leader);
  const int new_leader = g.wait_for_leader();
  CHECK(new_leader != leader);
  for (int id = 1; id <= 3; ++id) {
    if (id == leader) continue;
    auto c = connect_client(g.port(id));
    INFO("reading every acknowledged key through survivor " << id);
    CHECK(count_wrong(c, expected) == 0);
  }

  // Changes the old leader has never seen: overwrites and new keys.
  std::map<std::string, std::string> changes;
  for (int i = 0; i < 50; ++i) changes["key:" + std::to_string(i)] = "v2-" + std::to_string(i);
  for (int i = 0; i < 50; ++i) changes["new:" + std::to_string(i)] = "n-" + std::to_string(i);
  {
    auto c = connect_client(g.port(g.other_than({leader, new_leader})));
    set_all(c, changes);
  }
  for (const auto& kv : changes) expected[kv.first] = kv.second;
  const uint64_t commit = number_field(g.raft_info(new_leader), "commit_index");

  g.start(leader);  // same data dir and port
  INFO("commit_index on the new leader before the restart: " << commit);
  CHECK(g.wait_applied(leader, commit));
  CHECK(g.wait_for_leader() == new_leader);
  auto ro = readonly_client(g.port(leader));
  CHECK(count_wrong(ro, expected) == 0);
  Reply size = must_call(ro, {"DBSIZE"});
  CHECK(size.integer == static_cast<int64_t>(expected.size()));
}

TEST_CASE("raft: peer commands without the cluster secret are refused; the node keeps serving") {
  RaftGroup g(3);
  const int leader = g.wait_for_leader();
  const std::string term_before = info_field(g.raft_info(leader), "term").value_or("?");
  INFO(g.report());

  auto is_refusal = [](const std::string& reply) {
    return reply.starts_with("-NOAUTH") || reply.starts_with("-ERR");
  };
  for (int id = 1; id <= 3; ++id) {
    INFO("node " << id);
    {
      RawConn c(g.port(id));
      std::string reply = c.call({"KVRAFT", "xyz"});
      INFO("KVRAFT xyz replied '" << reply << "'");
      CHECK(is_refusal(reply));
    }
    {
      RawConn c(g.port(id));
      std::string reply = c.call({"KVPEER", "wrongsecret", "9"});
      INFO("KVPEER wrongsecret 9 replied '" << reply << "'");
      CHECK(is_refusal(reply));
      // A refused KVPEER must not leave the connection authenticated: a KVRAFT after it is
      // refused too (or the node has closed the connection).
      std::string next = c.call({"KVRAFT", "xyz"});
      INFO("KVRAFT after the refused KVPEER replied '" << next << "'");
      CHECK((next.empty() || is_refusal(next)));
    }
    {
      // A member's id does not help without its secret.
      RawConn c(g.port(id));
      std::string reply = c.call({"KVPEER", "wrongsecret", std::to_string(leader == 1 ? 2 : 1)});
      INFO("KVPEER wrongsecret <member id> replied '" << reply << "'");
      CHECK(is_refusal(reply));
    }
  }
  for (int id = 1; id <= 3; ++id) {
    CHECK(g.is_up(id));
    auto c = connect_client(g.port(id));
    CHECK(must_call(c, {"PING"}).str == "PONG");
    Reply r = must_call(c, {"SET", "still-serving:" + std::to_string(id), "yes"});
    INFO("SET through node " << id << " replied " << r.to_display());
    CHECK(r.str == "OK");
  }
  // The garbage changed nothing in the group: same leader, same term.
  CHECK(g.wait_for_leader() == leader);
  CHECK(info_field(g.raft_info(leader), "term") == term_before);
}

TEST_CASE("raft: bad raft flags exit 2 with one error line") {
  ::unsetenv("KV_CLUSTER_SECRET");  // the flag's fallback: must not leak in from the caller
  TempDir tmp;
  auto ports = pick_free_ports(3);
  std::string peers;
  for (int id = 1; id <= 3; ++id) {
    if (!peers.empty()) peers += ",";
    peers += std::to_string(id) + "=127.0.0.1:" + std::to_string(ports[id - 1]);
  }
  const std::vector<std::vector<std::string>> bad = {
      {"--id", "4", "--peers", peers, "--cluster-secret", "s"},                 // id not in peers
      {"--peers", "1=nohost", "--cluster-secret", "s"},                         // no port
      {"--id", "1", "--peers", peers},                                          // no secret
      {"--id", "1", "--peers", peers, "--cluster-secret", ""},                  // empty secret
      {"--peers", "1=127.0.0.1:99999,2=127.0.0.1:1", "--cluster-secret", "s"},  // port range
      {"--peers", "x=127.0.0.1:1,2=127.0.0.1:2", "--cluster-secret", "s"},      // id not a number
      {"--peers", "1=127.0.0.1:1,1=127.0.0.1:2", "--cluster-secret", "s"},      // id twice
      {"--id", "0", "--peers", peers, "--cluster-secret", "s"},                 // id < 1
  };
  int n = 0;
  for (const auto& flags : bad) {
    std::vector<std::string> argv = {bin_path("kvstore"), "--port", "0", "--data-dir",
                                     tmp.sub("d" + std::to_string(n++))};
    argv.insert(argv.end(), flags.begin(), flags.end());
    std::string shown;
    for (const auto& a : flags) shown += " " + (a.empty() ? "''" : a);
    CommandResult r = run_command(argv, 10s);
    INFO("kvstore" << shown << "\nexit " << r.exit_code << "\nstdout:\n"
                   << r.out << "\nstderr:\n"
                   << r.err);
    CHECK(r.exit_code == 2);
    std::vector<std::string> lines;
    std::istringstream in(r.err);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) lines.push_back(line);
    }
    CHECK(lines.size() == 1);
    for (const char* crash :
         {"terminate called", "what()", "Aborted", "Assertion", "CHECK failed", "stack", "#0 "}) {
      CHECK(r.err.find(crash) == std::string::npos);
    }
    CHECK(r.out.find("listening") == std::string::npos);
  }
}

TEST_CASE("raft: a node without --peers (or listing only itself) is a standalone leader") {
  TempDir tmp;
  SUBCASE("no --peers") {
    Node node = start_kvstore(tmp.sub("solo"));
    std::string raft = node_info(node.port, "raft");
    INFO(raft);
    CHECK(info_field(raft, "role") == "leader");
    CHECK(info_field(raft, "members") == "1");
    CHECK(info_field(raft, "node_id") == "1");
    CHECK(info_field(raft, "leader_id") == "1");
    auto c = connect_client(node.port);
    CHECK(must_call(c, {"SET", "a", "1"}).str == "OK");
    CHECK(must_call(c, {"INCR", "n"}).integer == 1);
    CHECK(must_call(c, {"GET", "a"}).str == "1");
  }
  SUBCASE("--peers naming only this node, no secret needed") {
    ::unsetenv("KV_CLUSTER_SECRET");
    const uint16_t port = pick_free_port();
    Process p({bin_path("kvstore"), "--id", "7", "--peers", "7=127.0.0.1:" + std::to_string(port),
               "--port", std::to_string(port), "--data-dir", tmp.sub("self")},
              tmp.sub("self.log"));
    auto listening = wait_listening(p);
    REQUIRE_MESSAGE(listening.has_value(), "did not come up:\n" << p.log());
    std::string raft = node_info(port, "raft");
    INFO(raft);
    CHECK(info_field(raft, "role") == "leader");
    CHECK(info_field(raft, "members") == "1");
    CHECK(info_field(raft, "node_id") == "7");
    CHECK(info_field(raft, "leader_id") == "7");
    auto c = connect_client(port);
    CHECK(must_call(c, {"SET", "a", "1"}).str == "OK");
    CHECK(must_call(c, {"GET", "a"}).str == "1");
  }
}

TEST_CASE("raft: a follower that missed a trimmed log catches up from a snapshot") {
  RaftGroup g(3, {"--snapshot-wal-bytes", "4096"});
  const int leader = g.wait_for_leader();
  const int victim = g.other_than({leader});
  INFO(g.report());

  // State the victim has before it goes down; some of it changes while it is away.
  std::map<std::string, std::string> old;
  for (int i = 0; i < 50; ++i) old["old:" + std::to_string(i)] = "o-" + std::to_string(i);
  auto c = connect_client(g.port(leader));
  set_all(c, old);
  REQUIRE(g.wait_applied(victim, number_field(g.raft_info(leader), "commit_index")));
  g.kill(victim);

  // ~100 KB of writes: many times the snapshot threshold, so the leader trims its log.
  std::map<std::string, std::string> expected;
  for (int i = 0; i < 1000; ++i) {
    expected["snap:" + std::to_string(i)] = std::to_string(i) + ":" + std::string(80, 's');
  }
  set_all(c, expected);
  std::vector<std::vector<std::string>> dels;
  for (int i = 0; i < 25; ++i) dels.push_back({"DEL", "old:" + std::to_string(i)});
  for (const auto& r : pipeline(c, dels)) CHECK(r.integer == 1);
  for (int i = 0; i < 25; ++i) expected["old:" + std::to_string(i)] = "";  // must be gone
  std::map<std::string, std::string> changed;
  for (int i = 25; i < 50; ++i)
    changed["old:" + std::to_string(i)] = "changed-" + std::to_string(i);
  set_all(c, changed);
  expected.insert(changed.begin(), changed.end());

  bool snapshotted = eventually(
      [&] {
        auto info = try_node_info(g.port(leader), "persistence");
        return info && info_field(*info, "snapshots_taken").value_or("0") != "0" &&
               info_field(*info, "snapshot_in_progress") == "0";
      },
      15s);
  const std::string persistence = node_info(g.port(leader), "persistence");
  INFO("leader INFO persistence:\n" << persistence);
  REQUIRE(snapshotted);
  CHECK(number_field(persistence, "snapshot_index") > 0);

  const uint64_t commit = number_field(g.raft_info(leader), "commit_index");
  g.start(victim);
  INFO("commit_index on the leader before the restart: " << commit);
  REQUIRE(g.wait_applied(victim, commit, 20s));
  auto ro = readonly_client(g.port(victim));
  CHECK(count_wrong(ro, expected) == 0);
  Reply size = must_call(ro, {"DBSIZE"});
  CHECK(size.integer == 1000 + 25);
  CHECK(g.wait_for_leader() == leader);
}

TEST_CASE("raft: KV_CLUSTER_SECRET works like the flag; a node with another secret stays out") {
  RaftGroup g(3, {},
              {{1, {kSecret, /*via_env=*/true}},
               {2, {kSecret, /*via_env=*/true}},
               {3, {"not-the-secret", /*via_env=*/false}}});
  // Nodes 1 and 2 share the secret (from the environment) and form a majority on their own.
  const int leader = g.wait_for_leader(10s, {1, 2});
  const int follower = leader == 1 ? 2 : 1;
  const std::string term_before = info_field(g.raft_info(leader), "term").value_or("?");
  INFO(g.report());

  auto c = connect_client(g.port(follower));
  Reply r = must_call(c, {"SET", "members-only", "v"});
  INFO("SET through follower " << follower << " replied " << r.to_display());
  REQUIRE(r.str == "OK");
  for (int id : {1, 2}) {
    auto rc = connect_client(g.port(id));
    CHECK(must_call(rc, {"GET", "members-only"}).str == "v");
  }
  REQUIRE(g.wait_applied(follower, number_field(g.raft_info(leader), "commit_index")));

  // Node 3 has the wrong secret: nothing the members send it is accepted, nor what it sends.
  CHECK(g.is_up(3));
  const std::string outsider = g.raft_info(3);
  INFO("node 3:\n" << outsider);
  CHECK(info_field(outsider, "leader_id") != std::to_string(leader));
  CHECK(info_field(outsider, "applied_index") == "0");
  auto ro = readonly_client(g.port(3));
  CHECK(must_call(ro, {"GET", "members-only"}).type == Reply::Type::kNil);
  // Its elections never reached the members: same leader, same term.
  CHECK(g.wait_for_leader(10s, {1, 2}) == leader);
  CHECK(info_field(g.raft_info(leader), "term") == term_before);
}
