#include "chaos/linearizability.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "chaos/history_builders.h"

namespace kv::chaos {
namespace {

using testing::Failed;
using testing::Get;
using testing::Incr;
using testing::Set;
using testing::Unknown;

std::set<uint64_t> window_ids(const KeyResult& r) {
  std::set<uint64_t> ids;
  for (const WindowOp& w : r.window) ids.insert(w.op.id);
  return ids;
}

TEST_CASE("an empty history and a sequential one are linearizable") {
  CHECK(check_key({}).linearizable());
  CHECK(check_key({Set(1, "k", "a", 0, 10), Get(2, "k", "a", 20, 30), Incr(3, "x", 1, 0, 5)})
            .verdict == Verdict::kUnknown);  // ops of two keys: invalid input for check_key
  CHECK(check_key({Get(1, "k", std::nullopt, 0, 5), Set(2, "k", "a", 10, 20),
                   Get(3, "k", "a", 30, 40), Set(4, "k", "b", 50, 60), Get(5, "k", "b", 70, 80)})
            .linearizable());
}

TEST_CASE("a GET overlapping a SET may see either value") {
  CHECK(check_key({Set(1, "k", "a", 0, 10), Get(2, "k", std::nullopt, 5, 15)}).linearizable());
  CHECK(check_key({Set(1, "k", "a", 0, 10), Get(2, "k", "a", 5, 15)}).linearizable());
  // Once a read has seen the new value, a later read cannot see the old one again, even while
  // the SET is still in flight.
  KeyResult r = check_key(
      {Set(1, "k", "a", 0, 100), Get(2, "k", "a", 10, 20), Get(3, "k", std::nullopt, 30, 40)});
  CHECK(r.verdict == Verdict::kViolation);
  CHECK(window_ids(r) == std::set<uint64_t>{1, 2, 3});
  // Concurrent SETs may take effect in either order.
  CHECK(check_key({Set(1, "k", "a", 0, 50), Set(2, "k", "b", 10, 60), Get(3, "k", "a", 70, 80)})
            .linearizable());
  CHECK(check_key({Set(1, "k", "a", 0, 50), Set(2, "k", "b", 10, 60), Get(3, "k", "b", 70, 80)})
            .linearizable());
}

TEST_CASE("a stale read after a completed write is a violation") {
  KeyResult r = check_key(
      {Set(1, "k", "a", 0, 10), Set(2, "k", "b", 20, 30, 1), Get(3, "k", "a", 40, 50, 2)});
  REQUIRE(r.verdict == Verdict::kViolation);
  CHECK_FALSE(r.linearizable());
  CHECK(window_ids(r) == std::set<uint64_t>{1, 2, 3});
  CHECK(r.window_minimal);
  const std::string text = r.ToString();
  CHECK(text.find("violation") != std::string::npos);
  CHECK(text.find("#2 c1 SET k=b [20,30] ok") != std::string::npos);
  CHECK(text.find("#3 c2 GET k [40,50] ok -> a") != std::string::npos);
}

TEST_CASE("a lost acknowledged write is a violation") {
  KeyResult r = check_key({Set(1, "k", "a", 0, 10), Get(2, "k", std::nullopt, 20, 30)});
  REQUIRE(r.verdict == Verdict::kViolation);
  CHECK(window_ids(r) == std::set<uint64_t>{1, 2});
}

TEST_CASE("INCR results must be distinct and consecutive") {
  KeyResult dup = check_key({Incr(1, "n", 1, 0, 10), Incr(2, "n", 1, 5, 15, 1)});
  REQUIRE(dup.verdict == Verdict::kViolation);
  CHECK(window_ids(dup) == std::set<uint64_t>{1, 2});
  CHECK(check_key({Incr(1, "n", 2, 0, 10), Incr(2, "n", 1, 5, 15, 1)}).linearizable());
  CHECK(check_key({Incr(1, "n", 1, 0, 10), Incr(2, "n", 3, 20, 30)}).verdict ==
        Verdict::kViolation);
  CHECK(check_key({Set(1, "n", "41", 0, 10), Incr(2, "n", 42, 20, 30), Get(3, "n", "42", 40, 50)})
            .linearizable());
}

TEST_CASE("an unknown-outcome write may or may not have applied") {
  const Operation maybe = Unknown(Set(1, "k", "a", 0, 10));
  CHECK(check_key({maybe, Get(2, "k", "a", 20, 30)}).linearizable());
  CHECK(check_key({maybe, Get(2, "k", std::nullopt, 20, 30)}).linearizable());
  // It may take effect long after its client gave up...
  CHECK(check_key({maybe, Get(2, "k", std::nullopt, 20, 30), Get(3, "k", "a", 40, 50)})
            .linearizable());
  // ...but only once: a value seen cannot be unseen.
  KeyResult r = check_key({maybe, Get(2, "k", "a", 20, 30), Get(3, "k", std::nullopt, 40, 50)});
  CHECK(r.verdict == Verdict::kViolation);
  // Not before it was invoked.
  CHECK(check_key({Get(2, "k", "a", 0, 5), Unknown(Set(1, "k", "a", 10, 20))}).verdict ==
        Verdict::kViolation);

  const Operation maybe_incr = Unknown(Incr(1, "n", 0, 0, 10));
  CHECK(check_key({maybe_incr, Incr(2, "n", 1, 20, 30)}).linearizable());
  CHECK(check_key({maybe_incr, Incr(2, "n", 2, 20, 30)}).linearizable());
  CHECK(check_key({maybe_incr, Incr(2, "n", 3, 20, 30)}).verdict == Verdict::kViolation);
  // An unknown GET says nothing.
  CHECK(check_key({Unknown(Get(1, "k", std::nullopt, 0, 10))}).linearizable());
}

TEST_CASE("a failed write never applied") {
  const Operation refused = Failed(Set(1, "k", "a", 0, 10));
  CHECK(check_key({refused, Get(2, "k", std::nullopt, 20, 30)}).linearizable());
  CHECK(check_key({refused, Get(2, "k", std::nullopt, 5, 8)}).linearizable());
  KeyResult r = check_key({refused, Get(2, "k", "a", 20, 30)});
  REQUIRE(r.verdict == Verdict::kViolation);
  CHECK(window_ids(r) == std::set<uint64_t>{2});  // reading a value never written, alone.
  CHECK(check_key({Failed(Incr(1, "n", 0, 0, 10)), Incr(2, "n", 1, 20, 30)}).linearizable());
}

TEST_CASE("the window is a small certificate naming the guilty operations") {
  // A long, healthy history on one key with a stale read in the middle and more traffic after.
  std::vector<Operation> ops;
  uint64_t id = 1;
  int64_t t = 0;
  for (int i = 0; i < 40; ++i, t += 100) {
    const std::string v = "v" + std::to_string(i);
    ops.push_back(Set(id++, "k", v, t, t + 30, static_cast<uint32_t>(i % 3)));
    ops.push_back(Get(id++, "k", v, t + 40, t + 90, static_cast<uint32_t>((i + 1) % 3)));
    ops.push_back(Unknown(Set(id++, "k", "lost" + std::to_string(i), t + 50, t + 60)));
  }
  const uint64_t stale_id = id++;
  ops.push_back(Get(stale_id, "k", "v37", t, t + 10));  // v39 was acknowledged before.
  for (int i = 0; i < 20; ++i, t += 100) {
    ops.push_back(Set(id++, "k", "w" + std::to_string(i), t + 20, t + 50));
  }
  KeyResult r = check_key(ops);
  REQUIRE(r.verdict == Verdict::kViolation);
  CHECK(r.window_minimal);
  const std::set<uint64_t> ids = window_ids(r);
  CHECK(ids.contains(stale_id));
  CHECK(r.window.size() <= 4);
  MESSAGE(r.ToString());

  // The window is itself a violating history (relaxed ops written as unknown).
  CHECK(check_key(r.window_history()).verdict == Verdict::kViolation);
}

TEST_CASE("check_history partitions by key and summarises") {
  History h = {Set(1, "a", "x", 0, 10),         Get(2, "a", "x", 20, 30),
               Set(3, "b", "y", 0, 10),         Get(4, "b", std::nullopt, 20, 30),
               Unknown(Incr(5, "c", 0, 0, 10)), Failed(Set(6, "d", "z", 0, 10))};
  HistorySummary s = check_history(h);
  CHECK(s.keys_checked == 4);
  CHECK(s.keys_violating == 1);
  CHECK(s.outcomes.ok == 4);
  CHECK(s.outcomes.fail == 1);
  CHECK(s.outcomes.unknown == 1);
  CHECK(s.verdict == Verdict::kViolation);
  REQUIRE(s.problems.size() == 1);
  CHECK(s.problems[0].key == "b");
  const std::string text = s.ToString();
  CHECK(text.find("ops: 6 (ok 4, fail 1, unknown 1); keys: 4 checked, 1 violating") !=
        std::string::npos);
  CHECK(text.find("verdict: violation") != std::string::npos);

  h.erase(h.begin() + 3);
  CHECK(check_history(h).verdict == Verdict::kLinearizable);
}

TEST_CASE("a search over budget reports unknown instead of hanging") {
  std::vector<Operation> ops;
  for (uint64_t i = 0; i < 30; ++i) ops.push_back(Unknown(Incr(i, "n", 0, 0, 1)));
  ops.push_back(Incr(100, "n", 31, 10, 20));  // impossible: at most 30 unknown INCRs before.
  CheckOptions options;
  options.max_steps_per_key = 10;
  KeyResult r = check_key(ops, options);
  CHECK(r.verdict == Verdict::kUnknown);
  CHECK(r.detail.find("search budget exceeded") != std::string::npos);
  HistorySummary s = check_history(ops, options);
  CHECK(s.verdict == Verdict::kUnknown);
  CHECK(s.keys_unknown == 1);
}

TEST_CASE("invalid operations are reported, not checked") {
  KeyResult r = check_key({Get(1, "k", "a", 10, 5)});
  CHECK(r.verdict == Verdict::kUnknown);
  CHECK(r.detail.find("completes before it is invoked") != std::string::npos);
}

}  // namespace
}  // namespace kv::chaos
