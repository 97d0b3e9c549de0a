// kv_client's membership subcommands against a scripted server: which commands go out in
// which order, how -TRYAGAIN is retried until the deadline, what is printed, and the one
// error line and exit code when the cluster refuses.
#include "client/admin_runner.h"

#include <doctest/doctest.h>

#include <deque>
#include <string>
#include <vector>

using kv::client::AdminCommand;
using kv::client::AdminIo;
using kv::client::AdminKind;
using kv::client::AdminOptions;
using kv::client::run_admin;
using kv::protocol::Reply;
using namespace std::chrono_literals;

namespace {

Reply ok() { return {Reply::Type::kSimpleString, "OK", 0, {}}; }
Reply error(const std::string& text) { return {Reply::Type::kError, text, 0, {}}; }
Reply bulk(const std::string& text) { return {Reply::Type::kBulkString, text, 0, {}}; }

// A server that expects exactly the scripted commands, in order, and answers each with its
// scripted reply (or a broken connection when the reply is an IOError).
struct ScriptedServer {
  struct Step {
    std::string command;  // argv joined with spaces
    kv::Result<Reply> reply;
  };
  std::deque<Step> steps;
  std::vector<std::string> printed;
  std::vector<std::string> leader_asked;
  std::string leader_info;  // what leader_info() returns; "" -> IOError

  void expect(const std::string& command, kv::Result<Reply> reply) {
    steps.push_back({command, std::move(reply)});
  }

  AdminIo io() {
    AdminIo io;
    io.call = [this](const std::vector<std::string>& argv) -> kv::Result<Reply> {
      std::string command;
      for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
      REQUIRE_MESSAGE(!steps.empty(), "unexpected command " << command);
      Step step = std::move(steps.front());
      steps.pop_front();
      CHECK(command == step.command);
      return step.reply;
    };
    io.leader_info = [this](const std::string& addr) -> kv::Result<std::string> {
      leader_asked.push_back(addr);
      if (leader_info.empty()) return kv::Status::IOError("connection refused");
      return leader_info;
    };
    io.print = [this](const std::string& line) { printed.push_back(line); };
    return io;
  }
};

struct Outcome {
  int code = -1;
  std::string error;
};

Outcome run(ScriptedServer& server, const AdminCommand& cmd, AdminOptions options = {}) {
  if (options.poll == 100ms) options.poll = 1ms;
  Outcome o;
  o.code = run_admin(cmd, options, server.io(), &o.error);
  CHECK_MESSAGE(server.steps.empty(), server.steps.size() << " scripted commands never sent");
  return o;
}

AdminCommand add4() { return {AdminKind::kMemberAdd, 4, "127.0.0.1:9004"}; }

const char kInfoWithLearner4[] =
    "# Raft\r\nrole:follower\r\nnode_id:1\r\nleader_id:2\r\nvoters:1,2,3\r\nlearners:4\r\n"
    "peer_4:addr=127.0.0.1:9004,link=up,role=learner\r\n";
const char kInfoWithVoter4[] =
    "# Raft\r\nrole:follower\r\nnode_id:1\r\nleader_id:2\r\nvoters:1,2,3,4\r\nlearners:\r\n"
    "peer_4:addr=127.0.0.1:9004,link=up,role=voter\r\n";
const char kInfoWithout4[] =
    "# Raft\r\nrole:follower\r\nnode_id:1\r\nleader_id:2\r\nvoters:1,2,3\r\nlearners:\r\n";

}  // namespace

TEST_CASE("member add: learner, retried PROMOTE while the learner catches up, voter") {
  ScriptedServer s;
  s.expect("RAFT ADDLEARNER 4 127.0.0.1:9004", ok());
  s.expect("RAFT PROMOTE 4", error("TRYAGAIN learner 4 is behind (match 3, commit 90)"));
  s.expect("RAFT PROMOTE 4", error("TRYAGAIN learner 4 is behind (match 60, commit 90)"));
  s.expect("RAFT PROMOTE 4", ok());
  Outcome o = run(s, add4());
  CHECK(o.code == 0);
  CHECK(o.error.empty());
  CHECK(s.printed == std::vector<std::string>{
                         "node 4: added as learner",
                         "node 4: catching up (TRYAGAIN learner 4 is behind (match 3, commit 90))",
                         "node 4: caught up, promoted to voter"});
}

TEST_CASE("member add: a pending change delays ADDLEARNER too") {
  ScriptedServer s;
  s.expect("RAFT ADDLEARNER 4 127.0.0.1:9004", error("TRYAGAIN a membership change is pending"));
  s.expect("RAFT ADDLEARNER 4 127.0.0.1:9004", ok());
  s.expect("RAFT PROMOTE 4", ok());
  Outcome o = run(s, add4());
  CHECK(o.code == 0);
  CHECK(s.printed.size() == 2);
}

TEST_CASE("member add: a learner that never catches up gives up at the deadline, exit 2") {
  ScriptedServer s;
  s.expect("RAFT ADDLEARNER 4 127.0.0.1:9004", ok());
  for (int i = 0; i < 1000; ++i) s.expect("RAFT PROMOTE 4", error("TRYAGAIN learner 4 is behind"));
  AdminOptions options;
  options.wait = 60ms;
  options.poll = 5ms;
  Outcome o;
  o.code = run_admin(add4(), options, s.io(), &o.error);
  CHECK(o.code == 2);
  CHECK(o.error ==
        "kv_client: RAFT PROMOTE 4: TRYAGAIN learner 4 is behind (still refused after 60 ms)");
  CHECK(s.steps.size() > 1000 - 20);  // about wait / poll tries, not a busy loop
  CHECK(s.printed.size() == 2);       // added, catching up; never promoted
}

TEST_CASE("member add: a refusal that will not change fails at once with the server's line") {
  ScriptedServer s;
  s.expect("RAFT ADDLEARNER 4 127.0.0.1:9004", error("ERR node 4 is already a member"));
  s.expect("INFO raft", bulk(kInfoWithout4));
  Outcome o = run(s, add4());
  CHECK(o.code == 2);
  CHECK(o.error == "kv_client: RAFT ADDLEARNER 4 127.0.0.1:9004: ERR node 4 is already a member");
  CHECK(s.printed.empty());

  SUBCASE("and so does a node without raft") {
    ScriptedServer standalone;
    standalone.expect(
        "RAFT ADDLEARNER 4 127.0.0.1:9004",
        error("ERR RAFT commands need a replicated node (start kvstore with --peers)"));
    standalone.expect("INFO raft", bulk("# Raft\r\nrole:leader\r\nnode_id:1\r\nleader_id:1\r\n"));
    Outcome so = run(standalone, add4());
    CHECK(so.code == 2);
    CHECK(so.error.find("ERR RAFT commands need a replicated node") != std::string::npos);
  }
}

TEST_CASE("member add: run again, it finishes what an earlier run started") {
  SUBCASE("already a learner at that address: promoted") {
    ScriptedServer s;
    s.expect("RAFT ADDLEARNER 4 127.0.0.1:9004", error("ERR node 4 is already a member"));
    s.expect("INFO raft", bulk(kInfoWithLearner4));
    s.expect("RAFT PROMOTE 4", ok());
    Outcome o = run(s, add4());
    CHECK(o.code == 0);
    CHECK(s.printed == std::vector<std::string>{"node 4: already a learner",
                                                "node 4: caught up, promoted to voter"});
  }
  SUBCASE("already a voter: nothing to do") {
    ScriptedServer s;
    s.expect("RAFT ADDLEARNER 4 127.0.0.1:9004", error("ERR node 4 is already a member"));
    s.expect("INFO raft", bulk(kInfoWithVoter4));
    Outcome o = run(s, add4());
    CHECK(o.code == 0);
    CHECK(s.printed == std::vector<std::string>{"node 4: already a voter"});
  }
  SUBCASE("a member at another address: refused") {
    ScriptedServer s;
    s.expect("RAFT ADDLEARNER 4 127.0.0.1:9999", error("ERR node 4 is already a member"));
    s.expect("INFO raft", bulk(kInfoWithLearner4));
    Outcome o = run(s, {AdminKind::kMemberAdd, 4, "127.0.0.1:9999"});
    CHECK(o.code == 2);
    CHECK(s.printed.empty());
  }
}

TEST_CASE("member add: a broken connection is one line naming the command") {
  ScriptedServer s;
  s.expect("RAFT ADDLEARNER 4 127.0.0.1:9004", ok());
  s.expect("RAFT PROMOTE 4", kv::Status::IOError("connection closed by server"));
  Outcome o = run(s, add4());
  CHECK(o.code == 2);
  CHECK(o.error == "kv_client: RAFT PROMOTE 4: connection closed by server");
}

TEST_CASE("member remove, leader transfer: one command, one line") {
  ScriptedServer s;
  s.expect("RAFT REMOVE 3", ok());
  CHECK(run(s, {AdminKind::kMemberRemove, 3, ""}).code == 0);
  s.expect("RAFT TRANSFER 2", error("TRYAGAIN leadership transfer under way"));
  s.expect("RAFT TRANSFER 2", ok());
  CHECK(run(s, {AdminKind::kLeaderTransfer, 2, ""}).code == 0);
  CHECK(s.printed == std::vector<std::string>{"node 3: removed", "leadership moved to node 2"});

  s.expect("RAFT REMOVE 9", error("ERR node 9 is not a member"));
  Outcome o = run(s, {AdminKind::kMemberRemove, 9, ""});
  CHECK(o.code == 2);
  CHECK(o.error == "kv_client: RAFT REMOVE 9: ERR node 9 is not a member");
  s.expect("RAFT TRANSFER 4", error("ERR node 4 is not a voter"));
  o = run(s, {AdminKind::kLeaderTransfer, 4, ""});
  CHECK(o.code == 2);
  CHECK(o.error == "kv_client: RAFT TRANSFER 4: ERR node 4 is not a voter");
  s.expect("RAFT TRANSFER 2", error("CLUSTERDOWN no leader"));
  CHECK(run(s, {AdminKind::kLeaderTransfer, 2, ""}).code == 2);  // not retried
}

TEST_CASE("member remove: 'not a member' after a -TRYAGAIN is a removal that went through") {
  ScriptedServer s;
  s.expect("RAFT REMOVE 4", error("TRYAGAIN the leader changed; outcome unknown"));
  s.expect("RAFT REMOVE 4", error("ERR node 4 is not a member"));
  s.expect("INFO raft", bulk(kInfoWithout4));
  Outcome o = run(s, {AdminKind::kMemberRemove, 4, ""});
  CHECK(o.code == 0);
  CHECK(s.printed == std::vector<std::string>{"node 4: removed"});
}

TEST_CASE("member list: a follower's view is replaced by the leader's, which has match/lag") {
  ScriptedServer s;
  s.expect("INFO raft", bulk("# Raft\r\nrole:follower\r\nnode_id:1\r\nleader_id:2\r\n"
                             "leader_addr:127.0.0.1:9002\r\nvoters:1,2\r\nlearners:\r\n"
                             "peer_2:addr=127.0.0.1:9002,link=up,role=voter\r\n"));
  s.leader_info =
      "# Raft\r\nrole:leader\r\nnode_id:2\r\nleader_id:2\r\nleader_addr:127.0.0.1:9002\r\n"
      "last_index:50\r\nvoters:1,2\r\nlearners:\r\n"
      "peer_1:addr=127.0.0.1:9001,match=48,lag=2,link=up,role=voter\r\n";
  AdminOptions options;
  options.self_addr = "127.0.0.1:9001";
  Outcome o = run(s, {AdminKind::kMemberList, 0, ""}, options);
  CHECK(o.code == 0);
  CHECK(s.leader_asked == std::vector<std::string>{"127.0.0.1:9002"});
  CHECK(s.printed == std::vector<std::string>{"1\t127.0.0.1:9001\tvoter\t48\t2",
                                              "2\t127.0.0.1:9002\tleader\t50\t0"});

  SUBCASE("the leader unreachable: the follower's own view") {
    ScriptedServer f;
    f.expect("INFO raft", bulk("# Raft\r\nrole:follower\r\nnode_id:1\r\nleader_id:2\r\n"
                               "leader_addr:127.0.0.1:9002\r\nvoters:1,2\r\nlearners:\r\n"));
    Outcome fo = run(f, {AdminKind::kMemberList, 0, ""}, options);
    CHECK(fo.code == 0);
    CHECK(f.printed ==
          std::vector<std::string>{"1\t127.0.0.1:9001\tvoter\t-\t-", "2\t-\tleader\t-\t-"});
  }
  SUBCASE("not a kvstore") {
    ScriptedServer r;
    r.expect("INFO raft", bulk(""));
    Outcome ro = run(r, {AdminKind::kMemberList, 0, ""}, options);
    CHECK(ro.code == 2);
    CHECK(ro.error.find("names no members") != std::string::npos);
  }
}
