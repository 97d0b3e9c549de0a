#include "cluster/restart_policy.h"

#include <doctest/doctest.h>

namespace kv::cluster {
namespace {

using namespace std::chrono_literals;
using TimePoint = RestartPolicy::TimePoint;

TEST_CASE("backoff doubles from the initial delay up to the cap") {
  RestartSettings s;  // 100 ms .. 10 s
  std::vector<long> got;
  for (int n = 1; n <= 9; ++n) got.push_back(RestartPolicy::backoff(s, n).count());
  CHECK(got == std::vector<long>{100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000});
}

TEST_CASE("a crash loop gives up after more than max_failures exits without being healthy") {
  RestartSettings s;
  s.max_failures = 3;
  RestartPolicy p(s);
  TimePoint t{};  // the fake clock
  for (int i = 1; i <= 3; ++i) {
    p.on_start(t);
    t += 50ms;
    auto d = p.on_exit(t);
    CHECK_FALSE(d.give_up);
    CHECK(d.delay == RestartPolicy::backoff(s, i));
  }
  p.on_start(t);
  CHECK(p.on_exit(t + 1ms).give_up);
  CHECK(p.failures() == 4);
  p.reset();  // an operator re-arms it
  CHECK(p.failures() == 0);
  p.on_start(t);
  CHECK_FALSE(p.on_exit(t).give_up);
}

TEST_CASE("a healthy run resets the failure count; a long run that never answered does not") {
  RestartSettings s;
  s.healthy_after = 10s;
  RestartPolicy p(s);
  TimePoint t{};
  p.on_start(t);
  (void)p.on_exit(t += 1s);
  p.on_start(t);
  (void)p.on_exit(t += 1s);
  CHECK(p.failures() == 2);

  p.on_start(t);
  p.on_ready(t += 100ms);
  auto d = p.on_exit(t += 9s);  // ready, but only 9 s: not healthy yet
  CHECK(p.failures() == 3);
  CHECK(d.delay == 400ms);

  p.on_start(t);
  p.on_ready(t += 100ms);
  d = p.on_exit(t += 10s);  // healthy for 10 s: back to the first, short delay
  CHECK(p.failures() == 1);
  CHECK(d.delay == 100ms);

  p.on_start(t);  // up for an hour but never answered PING: still counts
  d = p.on_exit(t += 3600s);
  CHECK(p.failures() == 2);
}

TEST_CASE("max_failures 0: the first unexpected exit marks the node failed") {
  RestartSettings s;
  s.max_failures = 0;
  RestartPolicy p(s);
  p.on_start(TimePoint{});
  CHECK(p.on_exit(TimePoint{}).give_up);
}

}  // namespace
}  // namespace kv::cluster
