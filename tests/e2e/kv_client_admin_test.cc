// kv_client's membership subcommands against real kvstore processes: member add (learner,
// catch-up, promotion) of a --join node, member list, member remove, leader transfer, and
// how AUTH with --secret or KV_CLUSTER_SECRET fails. Ports are picked at run time; every
// process is killed by pid when its RaftGroup (or Node) goes. No sleeps: waits poll with a
// deadline.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/raft_group.h"

using namespace kv::e2e;

namespace {

size_t count_lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

CommandResult kv_client(uint16_t port, const std::vector<std::string>& args,
                        const std::string& secret = kSecret) {
  std::vector<std::string> argv = {bin_path("kv_client"), "--port", std::to_string(port)};
  if (!secret.empty()) {
    argv.push_back("--secret");
    argv.push_back(secret);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, 90s);
}

// kv_client with the secret in KV_CLUSTER_SECRET, set for that child alone.
CommandResult kv_client_env_secret(uint16_t port, const std::vector<std::string>& args,
                                   const std::string& secret) {
  ::setenv("KV_CLUSTER_SECRET", secret.c_str(), 1);
  CommandResult r = kv_client(port, args, "");
  ::unsetenv("KV_CLUSTER_SECRET");
  return r;
}

std::string describe(const CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "stderr:\n" + r.err;
}

// `member list` output in a pipe (tab-separated): id -> {addr, role, match, lag}.
std::map<int, std::vector<std::string>> member_rows(const std::string& out) {
  std::map<int, std::vector<std::string>> rows;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> cells;
    std::istringstream fields(line);
    for (std::string cell; std::getline(fields, cell, '\t');) cells.push_back(cell);
    REQUIRE_MESSAGE(cells.size() == 5, "member list line '" << line << "'");
    rows[std::stoi(cells[0])] = {cells.begin() + 1, cells.end()};
  }
  return rows;
}

// Polls `member list` through port until node id has `role` (or, with role "", is gone).
bool wait_member(uint16_t port, int id, const std::string& role, std::string* last) {
  return eventually(
      [&] {
        CommandResult r = kv_client(port, {"member", "list"});
        *last = describe(r);
        if (r.exit_code != 0) return false;
        auto rows = member_rows(r.out);
        return role.empty() ? rows.count(id) == 0 : rows.count(id) && rows[id][1] == role;
      },
      20s);
}

}  // namespace

TEST_CASE("kv_client: member add, list and remove of a --join node; leader transfer") {
  RaftGroup g(3);
  const int leader = g.wait_for_leader();
  const int joiner = g.add_joiner();
  const std::string joiner_addr = "127.0.0.1:" + std::to_string(g.port(joiner));
  INFO(g.report());

  CommandResult add = kv_client(g.port(1), {"member", "add", std::to_string(joiner), joiner_addr});
  INFO("member add: " << describe(add));
  REQUIRE(add.exit_code == 0);
  CHECK(add.err.empty());
  const std::string id = std::to_string(joiner);
  CHECK(add.out.starts_with("node " + id + ": added as learner\n"));
  CHECK(add.out.ends_with("node " + id + ": caught up, promoted to voter\n"));

  std::string last;
  CHECK_MESSAGE(wait_member(g.port(1), joiner, "voter", &last), last);
  CommandResult list = kv_client(g.port(1), {"member", "list"});
  REQUIRE(list.exit_code == 0);
  auto rows = member_rows(list.out);
  CHECK(rows.size() == 4);
  CHECK(rows[joiner][0] == joiner_addr);
  CHECK(rows[leader][1] == "leader");
  CHECK(rows[joiner][2] != "-");  // the leader's view: a match index for every member

  // A write through the new member is read back through node 1.
  CommandResult put = kv_client(g.port(joiner), {"put", "via-new-member", "hello"});
  INFO("put through the new member: " << describe(put));
  CHECK(put.exit_code == 0);
  CHECK(put.out == "OK\n");
  CommandResult get = kv_client(g.port(1), {"get", "via-new-member"});
  CHECK(get.exit_code == 0);
  CHECK(get.out == "hello\n");

  // Adding it again finds it already in: nothing to do, exit 0.
  CommandResult again = kv_client(g.port(2), {"member", "add", id, joiner_addr});
  INFO("member add again: " << describe(again));
  CHECK(again.exit_code == 0);
  CHECK(again.out == "node " + id + ": already a voter\n");

  // Leadership to another voter, then back to a three-node group without the new member.
  const int next = g.other_than({leader, joiner});
  CommandResult transfer = kv_client(g.port(joiner), {"leader", "transfer", std::to_string(next)});
  INFO("leader transfer: " << describe(transfer));
  CHECK(transfer.exit_code == 0);
  CHECK(transfer.out == "leadership moved to node " + std::to_string(next) + "\n");
  CHECK(g.wait_for_leader() == next);

  CommandResult remove = kv_client(g.port(1), {"member", "remove", id});
  INFO("member remove: " << describe(remove));
  CHECK(remove.exit_code == 0);
  CHECK(remove.out == "node " + id + ": removed\n");
  CHECK_MESSAGE(wait_member(g.port(1), joiner, "", &last), last);
  CHECK(member_rows(kv_client(g.port(1), {"member", "list"}).out).size() == 3);
}

TEST_CASE("kv_client: a wrong or missing secret exits 2 with one line") {
  RaftGroup g(3);
  g.wait_for_leader();
  INFO(g.report());

  CommandResult wrong = kv_client(g.port(1), {"member", "list"}, "not-the-secret");
  INFO("--secret wrong: " << describe(wrong));
  CHECK(wrong.exit_code == 2);
  CHECK(wrong.out.empty());
  CHECK(count_lines(wrong.err) == 1);
  CHECK(wrong.err.find("WRONGPASS") != std::string::npos);

  CommandResult env = kv_client_env_secret(g.port(2), {"get", "k"}, "not-the-secret");
  INFO("KV_CLUSTER_SECRET wrong: " << describe(env));
  CHECK(env.exit_code == 2);
  CHECK(count_lines(env.err) == 1);
  CHECK(env.err.find("KV_CLUSTER_SECRET") != std::string::npos);

  CommandResult right_env = kv_client_env_secret(g.port(2), {"raft", "promote", "9"}, kSecret);
  INFO("raw RAFT with the secret from the environment: " << describe(right_env));
  CHECK(right_env.exit_code == 2);  // node 9 is no learner: the server's refusal...
  CHECK(right_env.err.find("NOAUTH") == std::string::npos);  // ...not an auth failure

  CommandResult none = kv_client(g.port(1), {"member", "remove", "3"}, "");
  INFO("no secret: " << describe(none));
  CHECK(none.exit_code == 2);
  CHECK(count_lines(none.err) == 1);
  CHECK(none.err.find("NOAUTH") != std::string::npos);
  CHECK(member_rows(kv_client(g.port(1), {"member", "list"}).out).size() == 3);
}

TEST_CASE("kv_client: member subcommands against a standalone node") {
  TempDir tmp;
  Node solo = start_kvstore(tmp.sub("solo"));

  CommandResult list = kv_client(solo.port, {"member", "list"}, "");
  INFO("member list: " << describe(list));
  CHECK(list.exit_code == 0);
  CHECK(list.out == "1\t127.0.0.1:" + std::to_string(solo.port) + "\tleader\t0\t0\n");

  CommandResult add = kv_client(solo.port, {"member", "add", "2", "127.0.0.1:1"}, "");
  INFO("member add: " << describe(add));
  CHECK(add.exit_code == 2);
  CHECK(add.out.empty());
  CHECK(count_lines(add.err) == 1);
  CHECK(add.err.starts_with("kv_client: RAFT ADDLEARNER 2 127.0.0.1:1: ERR"));

  // A secret from the environment, which a node without one cannot check: ignored.
  CommandResult put = kv_client_env_secret(solo.port, {"put", "k", "v"}, "some-secret");
  INFO("put with KV_CLUSTER_SECRET set: " << describe(put));
  CHECK(put.exit_code == 0);
  CHECK(put.out == "OK\n");
  // Given explicitly, it must be accepted.
  CommandResult explicit_secret = kv_client(solo.port, {"get", "k"}, "some-secret");
  CHECK(explicit_secret.exit_code == 2);
  CHECK(count_lines(explicit_secret.err) == 1);
}

TEST_CASE("kv_client: bad member arguments exit 2 before connecting") {
  const uint16_t port = pick_free_port();  // nothing listens there
  for (const std::vector<std::string>& args : {std::vector<std::string>{"member", "add", "4"},
                                               {"member", "add", "0", "h:1"},
                                               {"member", "add", "4", "nohost"},
                                               {"member", "remove"},
                                               {"leader", "transfer", "x"},
                                               {"member", "frobnicate"}}) {
    CommandResult r = kv_client(port, args, "");
    INFO(args[0] << " " << args[1] << ": " << describe(r));
    CHECK(r.exit_code == 2);
    CHECK(count_lines(r.err) == 1);
    CHECK(r.err.find(std::to_string(port)) == std::string::npos);  // not a connection error
  }
  auto help = run_command({bin_path("kv_client"), "--help"});
  CHECK(help.exit_code == 0);
  for (const char* word : {"member add ID HOST:PORT", "member remove ID", "member list",
                           "leader transfer ID", "--secret", "KV_CLUSTER_SECRET", "--wait-ms"}) {
    CHECK_MESSAGE(help.out.find(word) != std::string::npos, "kv_client --help lacks " << word);
  }
}
