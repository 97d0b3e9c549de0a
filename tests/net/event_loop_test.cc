#include "net/event_loop.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <vector>

using kv::net::EventLoop;
using namespace std::chrono_literals;

TEST_CASE("timers fire in deadline order and cancelled ones never fire") {
  EventLoop loop;
  std::vector<int> fired;
  loop.run_after(20ms, [&] { fired.push_back(2); });
  loop.run_after(0ms, [&] { fired.push_back(1); });
  uint64_t cancelled = loop.run_after(10ms, [&] { fired.push_back(99); });
  loop.cancel_timer(cancelled);
  loop.run_after(30ms, [&] { loop.stop(); });
  loop.run();
  CHECK(fired == std::vector<int>{1, 2});
}

TEST_CASE("fd callbacks run, then the before-sleep hook") {
  EventLoop loop;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::vector<std::string> order;
  int sleeps = 0;
  loop.set_before_sleep([&] {
    order.push_back("sleep");
    if (++sleeps == 3) loop.stop();
  });
  REQUIRE(loop.add(fds[0], EPOLLIN, [&](uint32_t) {
    char c;
    REQUIRE(::read(fds[0], &c, 1) == 1);
    order.push_back("read");
    loop.remove(fds[0]);
  }).ok());
  REQUIRE(::write(fds[1], "x", 1) == 1);
  loop.run_after(5ms, [] {});  // wakes the third round
  loop.run();
  CHECK(order == std::vector<std::string>{"sleep", "read", "sleep", "sleep"});
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("events of a removed fd are dropped even if the number is reused") {
  EventLoop loop;
  int a[2], b[2];
  REQUIRE(::pipe(a) == 0);
  REQUIRE(::pipe(b) == 0);
  // Both readable: whichever runs first removes the other, which must then not run.
  REQUIRE(::write(a[1], "x", 1) == 1);
  REQUIRE(::write(b[1], "x", 1) == 1);
  int ran = 0;
  REQUIRE(loop.add(a[0], EPOLLIN, [&](uint32_t) { ++ran; loop.remove(a[0]); loop.remove(b[0]); }).ok());
  REQUIRE(loop.add(b[0], EPOLLIN, [&](uint32_t) { ++ran; loop.remove(a[0]); loop.remove(b[0]); }).ok());
  loop.run_after(5ms, [&] { loop.stop(); });
  loop.run();
  CHECK(ran == 1);
  for (int fd : {a[0], a[1], b[0], b[1]}) ::close(fd);
}
