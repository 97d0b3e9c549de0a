#include "chaos/workload.h"

#include <doctest/doctest.h>

#include <set>

namespace kv::chaos {
namespace {

using protocol::Reply;

Reply reply(Reply::Type type, std::string str = "", int64_t integer = 0) {
  Reply r;
  r.type = type;
  r.str = std::move(str);
  r.integer = integer;
  return r;
}

TEST_CASE("workload: registers take GET/SET, counters GET/INCR, SET values are unique") {
  WorkloadSpec spec;
  spec.registers = 3;
  spec.counters = 2;
  const Workload w(spec);
  CHECK(w.keys() == std::vector<std::string>{"r0", "r1", "r2", "n0", "n1"});
  std::mt19937_64 rng(7);
  std::set<std::string> values;
  std::set<OpKind> kinds;
  std::set<std::string> keys;
  for (uint64_t seq = 1; seq <= 2000; ++seq) {
    const uint32_t client = static_cast<uint32_t>(seq % 3);
    const PlannedOp op = w.next(rng, client, seq);
    kinds.insert(op.kind);
    keys.insert(op.key);
    if (op.key[0] == 'r') CHECK(op.kind != OpKind::kIncr);
    if (op.key[0] == 'n') CHECK(op.kind != OpKind::kSet);
    if (op.kind == OpKind::kSet) {
      CHECK(values.insert(op.value).second);
      CHECK(op.argv() == std::vector<std::string>{"SET", op.key, op.value});
    } else {
      CHECK(op.value.empty());
    }
  }
  CHECK(kinds.size() == 3);
  CHECK(keys.size() == 5);
  CHECK(PlannedOp{OpKind::kIncr, "n0", ""}.argv() == std::vector<std::string>{"INCR", "n0"});
  CHECK(PlannedOp{OpKind::kGet, "r1", ""}.argv() == std::vector<std::string>{"GET", "r1"});
}

TEST_CASE("workload: the same seed gives the same operations") {
  const Workload w(WorkloadSpec{});
  std::mt19937_64 a(42), b(42);
  for (uint64_t seq = 1; seq <= 100; ++seq) {
    const PlannedOp x = w.next(a, 0, seq), y = w.next(b, 0, seq);
    CHECK(x.argv() == y.argv());
  }
}

TEST_CASE("classify: ok replies carry their result") {
  auto get = classify_reply(OpKind::kGet, reply(Reply::Type::kBulkString, "v"));
  CHECK(get.outcome == Outcome::kOk);
  CHECK(get.result == std::optional<std::string>("v"));
  auto nil = classify_reply(OpKind::kGet, reply(Reply::Type::kNil));
  CHECK(nil.outcome == Outcome::kOk);
  CHECK_FALSE(nil.result.has_value());
  auto set = classify_reply(OpKind::kSet, reply(Reply::Type::kSimpleString, "OK"));
  CHECK(set.outcome == Outcome::kOk);
  CHECK_FALSE(set.result.has_value());
  auto incr = classify_reply(OpKind::kIncr, reply(Reply::Type::kInteger, "", -3));
  CHECK(incr.outcome == Outcome::kOk);
  CHECK(incr.result == std::optional<std::string>("-3"));
}

TEST_CASE("classify: CLUSTERDOWN is a definite failure for reads and writes") {
  for (OpKind kind : {OpKind::kGet, OpKind::kSet, OpKind::kIncr}) {
    auto c = classify_reply(kind, reply(Reply::Type::kError, "CLUSTERDOWN no leader"));
    CHECK(c.outcome == Outcome::kFail);
    CHECK(c.note == "CLUSTERDOWN no leader");
  }
}

TEST_CASE("classify: other errors, timeouts and broken connections are unknown for writes") {
  const Result<Reply> timeout = Status::IOError("timed out waiting for a reply");
  const Result<Reply> closed = Status::IOError("connection closed by server");
  const Result<Reply> tryagain = reply(Reply::Type::kError, "TRYAGAIN leader lost");
  const Result<Reply> err = reply(Reply::Type::kError, "ERR something");
  // A reply of the wrong type (e.g. an INCR answered with a bulk string) is not trusted.
  const Result<Reply> odd = reply(Reply::Type::kBulkString, "x");
  for (const Result<Reply>* r : {&timeout, &closed, &tryagain, &err, &odd}) {
    CHECK(classify_reply(OpKind::kSet, *r).outcome == Outcome::kUnknown);
    CHECK(classify_reply(OpKind::kIncr, *r).outcome == Outcome::kUnknown);
  }
  for (const Result<Reply>* r : {&timeout, &closed, &tryagain, &err}) {
    auto c = classify_reply(OpKind::kGet, *r);
    CHECK(c.outcome == Outcome::kFail);
    CHECK_FALSE(c.result.has_value());
    CHECK_FALSE(c.note.empty());
  }
  CHECK(classify_reply(OpKind::kGet, reply(Reply::Type::kInteger, "", 1)).outcome ==
        Outcome::kFail);
  CHECK(classify_reply(OpKind::kSet, reply(Reply::Type::kSimpleString, "QUEUED")).outcome ==
        Outcome::kUnknown);
}

}  // namespace
}  // namespace kv::chaos
