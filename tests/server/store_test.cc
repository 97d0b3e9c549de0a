// Store tests: the Raft membership bytes travel with snapshot.bin — written by the forked
// snapshot child, read back at recovery, taken from a leader's image on install.
#include "server/store.h"

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/coding.h"
#include "storage/snapshot.h"
#include "testing/test_util.h"

using kv::server::ServerConfig;
using kv::server::Store;
using kv::storage::RecordType;
using kv::storage::SnapshotMeta;
using kv::testing::TempDir;

namespace {

ServerConfig store_config(const std::string& dir, bool raft) {
  ServerConfig config;
  config.data_dir = dir;
  config.snapshot_wal_bytes = 1;  // snapshot at the first chance
  if (raft) {
    config.members = {{1, "127.0.0.1", 9001}, {2, "127.0.0.1", 9002}, {3, "127.0.0.1", 9003}};
  }
  return config;
}

std::unique_ptr<Store> open_store(const ServerConfig& config) {
  auto store = Store::open(config);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  return std::move(store).value();
}

std::string set_payload(const std::string& key, const std::string& value) {
  std::string payload;
  kv::coding::encode_argv({"SET", key, value}, &payload);
  return payload;
}

// Ticks until the snapshot child has finished and the store has taken note: its index.
uint64_t wait_for_snapshot(Store* store) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    store->tick();
    if (auto done = store->take_completed_snapshot()) return *done;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  FAIL("no snapshot completed within 20 s");
  return 0;
}

SnapshotMeta snapshot_on_disk(const std::string& dir) {
  SnapshotMeta meta;
  auto image = kv::storage::read_snapshot_image(dir, &meta);
  REQUIRE_MESSAGE(image.ok(), image.status().ToString());
  return meta;
}

}  // namespace

TEST_CASE("store: a raft snapshot carries the membership at the applied index") {
  TempDir dir;
  const ServerConfig config = store_config(dir.path(), true);
  const std::string config_a("voters 1,2,3\0\xff", 14);
  {
    auto store = open_store(config);
    CHECK(store->snapshot_membership().empty());
    for (uint64_t i = 1; i <= 3; ++i) {
      store->append_entry(2, i, RecordType::kCommand, set_payload("k" + std::to_string(i), "v"));
    }
    store->sync_log();
    store->set_applied(3, 2);
    store->set_snapshot_membership(config_a);
    CHECK(wait_for_snapshot(store.get()) == 3);
    CHECK(store->snapshot_membership() == config_a);
    SnapshotMeta meta = snapshot_on_disk(dir.path());
    CHECK(meta.last_index == 3);
    CHECK(meta.last_term == 2);
    CHECK(meta.membership == config_a);

    // A change after the snapshot is in the next one, not retroactively in this one.
    store->set_snapshot_membership("voters 1,2,3,4");
    CHECK(store->snapshot_membership() == config_a);
    store->append_entry(2, 4, RecordType::kCommand, set_payload("k4", "v"));
    store->sync_log();
    store->set_applied(4, 2);
    CHECK(wait_for_snapshot(store.get()) == 4);
    CHECK(store->snapshot_membership() == "voters 1,2,3,4");
    store->close();
  }
  auto reopened = open_store(config);
  CHECK(reopened->snapshot_index() == 4);
  CHECK(reopened->snapshot_membership() == "voters 1,2,3,4");
}

TEST_CASE("store: install_snapshot takes the leader's membership, and it survives a restart") {
  TempDir leader, follower;
  REQUIRE(kv::storage::write_snapshot(leader.path(), 5, 40, "leader-config",
                                      [](const kv::storage::SnapshotSink& sink) {
                                        sink("a", "1");
                                        sink("b", "2");
                                      })
              .ok());
  SnapshotMeta meta;
  auto image = kv::storage::read_snapshot_image(leader.path(), &meta);
  REQUIRE(image.ok());

  const ServerConfig config = store_config(follower.path(), true);
  {
    auto store = open_store(config);
    store->set_snapshot_membership("follower's own, about to be replaced");
    uint64_t last_index = 0, last_term = 0;
    REQUIRE(store->install_snapshot(*image, &last_index, &last_term).ok());
    CHECK(last_index == 40);
    CHECK(last_term == 5);
    CHECK(store->snapshot_membership() == "leader-config");
    CHECK(store->keys().size() == 2);

    // With no change since, the next local snapshot keeps the installed configuration.
    store->append_entry(5, 41, RecordType::kCommand, set_payload("c", "3"));
    store->sync_log();
    store->set_applied(41, 5);
    CHECK(wait_for_snapshot(store.get()) == 41);
    CHECK(snapshot_on_disk(follower.path()).membership == "leader-config");

    SUBCASE("a damaged image changes nothing") {
      std::string bad = *image;
      bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 1);
      CHECK(store->install_snapshot(bad, &last_index, &last_term).is_corruption());
      CHECK(store->snapshot_membership() == "leader-config");
      CHECK(store->snapshot_index() == 41);
    }
    store->close();
  }
  auto reopened = open_store(config);
  CHECK(reopened->snapshot_membership() == "leader-config");
}

TEST_CASE("store: standalone snapshots carry an empty membership") {
  TempDir dir;
  const ServerConfig config = store_config(dir.path(), false);
  {
    auto store = open_store(config);
    store->set_snapshot_membership("ignored without raft");
    store->log_command({"SET", "k", "v"});
    store->keys().set("k", "v");
    store->sync_for_replies();
    CHECK(wait_for_snapshot(store.get()) == 1);
    CHECK(store->snapshot_membership().empty());
    CHECK(snapshot_on_disk(dir.path()).membership.empty());
    store->close();
  }
  auto reopened = open_store(config);
  CHECK(reopened->snapshot_membership().empty());
  CHECK(reopened->keys().size() == 1);
}
