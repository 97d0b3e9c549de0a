#include "chaos/history_analysis.h"

#include <doctest/doctest.h>

#include "chaos/history_builders.h"

namespace kv::chaos {
namespace {

using testing::Failed;
using testing::Get;
using testing::Incr;
using testing::Set;
using testing::Unknown;

Operation IncrOp(uint64_t id, std::string key, int64_t t0, int64_t t1) {
  return Incr(id, std::move(key), 0, t0, t1);  // for Unknown()/Failed(), which drop the result
}

TEST_CASE("count_by_kind splits outcomes per operation kind") {
  const History h = {Set(1, "r", "a", 0, 1), Unknown(Set(2, "r", "b", 2, 3)),
                     Failed(Get(3, "r", std::nullopt, 4, 5)), Get(4, "r", "a", 6, 7),
                     Incr(5, "n", 1, 8, 9)};
  const KindCounts c = count_by_kind(h);
  CHECK(c.set.ok == 1);
  CHECK(c.set.unknown == 1);
  CHECK(c.get.ok == 1);
  CHECK(c.get.fail == 1);
  CHECK(c.incr.ok == 1);
  CHECK(c.of(OpKind::kIncr).ok == 1);
}

TEST_CASE("lost writes: the last acknowledged SET or a later value must be there") {
  const History h = {Set(1, "r", "a", 0, 10), Set(2, "r", "b", 20, 30),
                     Unknown(Set(3, "r", "c", 40, 41)), Failed(Set(4, "r", "d", 50, 60))};
  CHECK(find_lost_writes(h, {{"r", "b"}}).empty());
  CHECK(find_lost_writes(h, {{"r", "c"}}).empty());  // the unknown SET may have applied last

  auto lost = find_lost_writes(h, {{"r", "a"}});  // b was acknowledged after a completed
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].key == "r");
  CHECK(lost[0].what.find("#2") != std::string::npos);

  lost = find_lost_writes(h, {{"r", std::nullopt}});
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].what.find("nil") != std::string::npos);

  CHECK(find_lost_writes(h, {{"r", "d"}}).size() == 1);   // a failed SET never applies
  CHECK(find_lost_writes(h, {{"r", "zz"}}).size() == 1);  // nobody wrote it
}

TEST_CASE("lost writes: concurrent acknowledged SETs may end in either order") {
  const History h = {Set(1, "r", "a", 0, 100), Set(2, "r", "b", 50, 150)};
  CHECK(find_lost_writes(h, {{"r", "a"}}).empty());
  CHECK(find_lost_writes(h, {{"r", "b"}}).empty());
}

TEST_CASE("lost writes: a key with only unknown or failed SETs may be nil") {
  const History h = {Unknown(Set(1, "r", "a", 0, 1)), Failed(Set(2, "r", "b", 2, 3))};
  CHECK(find_lost_writes(h, {{"r", std::nullopt}}).empty());
  CHECK(find_lost_writes(h, {{"r", "a"}}).empty());
}

TEST_CASE(
    "lost writes: counters hold at least the acknowledged INCRs, at most all that may apply") {
  History h = {Incr(1, "n", 1, 0, 1), Incr(2, "n", 2, 2, 3), Unknown(IncrOp(3, "n", 4, 5)),
               Failed(IncrOp(4, "n", 6, 7))};
  CHECK(find_lost_writes(h, {{"n", "2"}}).empty());
  CHECK(find_lost_writes(h, {{"n", "3"}}).empty());
  CHECK(find_lost_writes(h, {{"n", "1"}}).size() == 1);
  CHECK(find_lost_writes(h, {{"n", std::nullopt}}).size() == 1);
  CHECK(find_lost_writes(h, {{"n", "4"}}).size() == 1);  // the failed INCR applied
  CHECK(find_lost_writes(h, {{"n", "x"}}).size() == 1);

  // Fewer acknowledged INCRs than the largest returned value: the returned value is the bound.
  const History g = {Unknown(IncrOp(1, "n", 0, 1)), Incr(2, "n", 2, 2, 3)};
  CHECK(find_lost_writes(g, {{"n", "1"}}).size() == 1);
  CHECK(find_lost_writes(g, {{"n", "2"}}).empty());
}

TEST_CASE("lost writes: keys without final values are skipped; unwritten keys must be nil") {
  const History h = {Set(1, "r", "a", 0, 1)};
  CHECK(find_lost_writes(h, {}).empty());
  CHECK(find_lost_writes(h, {{"other", std::nullopt}}).empty());
  CHECK(find_lost_writes(h, {{"other", "x"}}).size() == 1);
}

TEST_CASE("failovers: from the fault to the first acknowledged write invoked after it") {
  const History h = {
      Set(1, "r", "a", 0, 10),            // before the fault
      Unknown(Set(2, "r", "b", 95, 96)),  // not acknowledged
      Get(3, "r", "a", 110, 120),         // a read does not count
      Set(4, "r", "c", 150, 400),         // acknowledged, completes late
      Incr(5, "n", 1, 200, 300),          // acknowledged first
      Set(6, "r", "d", 90, 130),          // invoked before the fault
  };
  const auto f = measure_failovers(h, {100, 1000});
  REQUIRE(f.size() == 2);
  REQUIRE(f[0].duration_ns().has_value());
  CHECK(*f[0].duration_ns() == 200);
  CHECK_FALSE(f[1].recovered_ns.has_value());

  const DurationStats stats = summarize_failovers(f);
  CHECK(stats.count == 1);
  CHECK(stats.median_ns == 200);
  CHECK(stats.max_ns == 200);
}

TEST_CASE("failover stats: median of an even count averages the middle two") {
  std::vector<Failover> f(4);
  const int64_t d[] = {40, 10, 30, 20};
  for (size_t i = 0; i < 4; ++i) f[i].recovered_ns = d[i];
  const DurationStats stats = summarize_failovers(f);
  CHECK(stats.count == 4);
  CHECK(stats.median_ns == 25);
  CHECK(stats.max_ns == 40);
  CHECK(summarize_failovers({}).count == 0);
}

}  // namespace
}  // namespace kv::chaos
