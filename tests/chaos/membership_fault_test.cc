// The pure parts of membership faults: the live node set clients pick from, and which node a
// fault removes (never the one it just added, never below the starting size).
#include "chaos/membership_fault.h"

#include <doctest/doctest.h>

#include <map>
#include <set>

#include "chaos/fault_injector.h"
#include "chaos/node_set.h"

namespace kv::chaos {
namespace {

TEST_CASE("NodeSet: add, replace, remove, pick only what is there") {
  NodeSet set({{1, "127.0.0.1", 7001}, {2, "127.0.0.1", 7002}});
  CHECK(set.ids() == std::vector<int>{1, 2});
  set.add({4, "127.0.0.1", 7004});
  set.add({2, "127.0.0.1", 7102});  // same id: replaced in place
  CHECK(set.ids() == std::vector<int>{1, 2, 4});
  REQUIRE(set.find(2).has_value());
  CHECK(set.find(2)->port == 7102);
  CHECK(set.remove(1));
  CHECK_FALSE(set.remove(1));
  CHECK_FALSE(set.find(1).has_value());

  std::set<int> picked;
  for (uint64_t r = 0; r < 10; ++r) picked.insert(set.pick(r)->id);
  CHECK(picked == std::set<int>{2, 4});

  CHECK(set.remove(2));
  CHECK(set.remove(4));
  CHECK(set.snapshot().empty());
  CHECK_FALSE(set.pick(7).has_value());
}

TEST_CASE("pick_removal: any live node but the new one; never below the starting size") {
  std::map<int, int> seen;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    const int victim = pick_removal({1, 2, 3, 4}, 4, 3, seed);
    REQUIRE(victim != 0);
    CHECK(victim != 4);
    ++seen[victim];
  }
  // Every old node, the leader among them, is removed now and then.
  CHECK(seen.size() == 3);
  for (const auto& [id, n] : seen) CHECK(n > 50);
  CHECK(pick_removal({1, 2, 3, 4}, 4, 3, 9) == pick_removal({1, 2, 3, 4}, 4, 3, 9));

  CHECK(pick_removal({1, 2, 3}, 4, 3, 1) == 0);  // the add did not make it live: keep 3
  CHECK(pick_removal({4}, 4, 0, 1) == 0);        // nothing but the new node
  CHECK(pick_removal({}, 0, 0, 1) == 0);
}

TEST_CASE("change_label: +node4 / -node2") {
  MembershipChange c;
  c.node = 4;
  CHECK(change_label(c) == "+node4");
  c.add = false;
  c.node = 2;
  CHECK(change_label(c) == "-node2");
}

}  // namespace
}  // namespace kv::chaos
