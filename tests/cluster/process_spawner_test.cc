#include "cluster/process_spawner.h"

#include <doctest/doctest.h>

namespace kv::cluster {
namespace {

TEST_CASE("child_environment: the base environment, with the caller's variables set") {
  const char* base[] = {
      "PATH=/usr/bin", "KV_CLUSTER_SECRET=stale", "HOME=/home/kv", "EMPTY=", "NOEQUALS", nullptr};
  CHECK(child_environment(base, {}) ==
        std::vector<std::string>{"PATH=/usr/bin", "KV_CLUSTER_SECRET=stale", "HOME=/home/kv",
                                 "EMPTY=", "NOEQUALS"});
  // A variable already present is replaced, not duplicated (getenv would take the first).
  CHECK(child_environment(base, {{"KV_CLUSTER_SECRET", "s3cret"}, {"NEW", "1"}}) ==
        std::vector<std::string>{"PATH=/usr/bin", "HOME=/home/kv", "EMPTY=", "NOEQUALS",
                                 "KV_CLUSTER_SECRET=s3cret", "NEW=1"});
  // Names match whole: KV_CLUSTER_SECRET_OLD is another variable.
  const char* similar[] = {"KV_CLUSTER_SECRET_OLD=x", "KV_CLUSTER=y", nullptr};
  CHECK(child_environment(similar, {{"KV_CLUSTER_SECRET", "s"}}) ==
        std::vector<std::string>{"KV_CLUSTER_SECRET_OLD=x", "KV_CLUSTER=y", "KV_CLUSTER_SECRET=s"});
  CHECK(child_environment(nullptr, {{"A", "b"}}) == std::vector<std::string>{"A=b"});
}

}  // namespace
}  // namespace kv::cluster
