// Snapshot tests: round trips, and that a crash at any step (leftover temp file, truncated
// or damaged snapshot.bin) never loads anything wrong.
#include "testing/test_util.h"
#include "storage/snapshot.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "storage/file_util.h"

using kv::storage::load_snapshot;
using kv::storage::SnapshotMeta;
using kv::storage::SnapshotSink;
using kv::storage::write_snapshot;
using Pairs = std::map<std::string, std::string>;

using kv::testing::read_file;
using kv::testing::TempDir;
using kv::testing::write_file;

namespace {

kv::Status save(const std::string& dir, uint64_t term, uint64_t index, const Pairs& pairs) {
  return write_snapshot(dir, term, index, [&](const SnapshotSink& sink) {
    for (const auto& [k, v] : pairs) sink(k, v);
  });
}

struct Loaded {
  kv::Status status;
  bool found = false;
  SnapshotMeta meta;
  Pairs pairs;
  int calls = 0;
};

Loaded load(const std::string& dir) {
  Loaded l;
  auto r = load_snapshot(dir, &l.meta, [&](std::string_view k, std::string_view v) {
    l.pairs.emplace(std::string(k), std::string(v));
    ++l.calls;
  });
  if (r.ok()) {
    l.found = r.value();
  } else {
    l.status = r.status();
  }
  return l;
}

Pairs sample_pairs() {
  return {
      {"", "empty key"},
      {"empty value", ""},
      {std::string("bin\0key\xff", 8), std::string("\0\r\n\x80value", 9)},
      {"k", std::string(100000, 'v')},
  };
}

}  // namespace

TEST_CASE("snapshot: round trip with binary keys, empty keys and values") {
  TempDir dir;
  const Pairs pairs = sample_pairs();
  REQUIRE(save(dir.path(), 3, 42, pairs).ok());
  CHECK(kv::storage::file_exists(dir.file("snapshot.bin")));
  CHECK_FALSE(kv::storage::file_exists(dir.file("snapshot.tmp")));

  Loaded l = load(dir.path());
  REQUIRE(l.status.ok());
  CHECK(l.found);
  CHECK(l.meta.last_term == 3);
  CHECK(l.meta.last_index == 42);
  CHECK(l.meta.count == pairs.size());
  CHECK(l.pairs == pairs);
}

TEST_CASE("snapshot: zero keys, and no snapshot at all") {
  TempDir dir;
  Loaded none = load(dir.path());
  REQUIRE(none.status.ok());
  CHECK_FALSE(none.found);

  REQUIRE(save(dir.path(), 1, 0, {}).ok());
  CHECK(read_file(dir.file("snapshot.bin")).size() == 8 + 24 + 4);
  Loaded l = load(dir.path());
  REQUIRE(l.status.ok());
  CHECK(l.found);
  CHECK(l.meta.count == 0);
  CHECK(l.meta.last_term == 1);
  CHECK(l.calls == 0);
}

TEST_CASE("snapshot: a newer snapshot replaces the older one") {
  TempDir dir;
  REQUIRE(save(dir.path(), 1, 10, {{"a", "1"}, {"b", "2"}}).ok());
  REQUIRE(save(dir.path(), 2, 20, {{"c", "3"}}).ok());
  Loaded l = load(dir.path());
  REQUIRE(l.status.ok());
  CHECK(l.meta.last_index == 20);
  CHECK(l.pairs == Pairs{{"c", "3"}});
}

TEST_CASE("snapshot: a crash before the rename keeps the old snapshot and drops the temp") {
  TempDir dir;
  const Pairs pairs = sample_pairs();
  REQUIRE(save(dir.path(), 3, 42, pairs).ok());
  // What a crash between writing snapshot.tmp and the rename leaves behind.
  write_file(dir.file("snapshot.tmp"), "KVSNAP01 half-written");
  Loaded l = load(dir.path());
  REQUIRE(l.status.ok());
  CHECK(l.found);
  CHECK(l.pairs == pairs);
  CHECK_FALSE(kv::storage::file_exists(dir.file("snapshot.tmp")));

  SUBCASE("with no snapshot before it") {
    TempDir fresh;
    write_file(fresh.file("snapshot.tmp"), "partial");
    Loaded none = load(fresh.path());
    REQUIRE(none.status.ok());
    CHECK_FALSE(none.found);
    CHECK_FALSE(kv::storage::file_exists(fresh.file("snapshot.tmp")));
  }
}

TEST_CASE("snapshot: every truncation and every flipped byte is Corruption, nothing applied") {
  TempDir dir;
  REQUIRE(save(dir.path(), 5, 9, {{"alpha", "1"}, {"", ""}, {"gamma", "three"}}).ok());
  const std::string path = dir.file("snapshot.bin");
  const std::string good = read_file(path);

  for (size_t cut = 0; cut < good.size(); ++cut) {
    CAPTURE(cut);
    write_file(path, good.substr(0, cut));
    Loaded l = load(dir.path());
    REQUIRE(l.status.is_corruption());
    CHECK(l.status.message().find(path) == 0);
    CHECK(l.calls == 0);
  }
  for (size_t off = 0; off < good.size(); ++off) {
    CAPTURE(off);
    std::string damaged = good;
    damaged[off] = static_cast<char>(damaged[off] ^ 0x10);
    write_file(path, damaged);
    Loaded l = load(dir.path());
    REQUIRE(l.status.is_corruption());
    CHECK(l.status.message().find(path) == 0);
    CHECK(l.calls == 0);
  }
  write_file(path, good + "x");
  CHECK(load(dir.path()).status.is_corruption());
}

TEST_CASE("snapshot: many keys round-trip") {
  TempDir dir;
  constexpr int kKeys = 100000;
  REQUIRE(write_snapshot(dir.path(), 1, kKeys, [](const SnapshotSink& sink) {
            for (int i = 0; i < kKeys; ++i) {
              sink("key:" + std::to_string(i), "value-" + std::to_string(i * 7));
            }
          }).ok());
  SnapshotMeta meta;
  int seen = 0;
  bool in_order = true;
  auto r = load_snapshot(dir.path(), &meta, [&](std::string_view k, std::string_view v) {
    in_order =
        in_order && k == "key:" + std::to_string(seen) && v == "value-" + std::to_string(seen * 7);
    ++seen;
  });
  REQUIRE(r.ok());
  CHECK(r.value());
  CHECK(seen == kKeys);
  CHECK(in_order);
  CHECK(meta.count == kKeys);
}

TEST_CASE("snapshot: write errors name the file and leave no temp") {
  TempDir dir;
  const std::string missing = dir.file("missing");
  kv::Status s = save(missing, 1, 1, {{"k", "v"}});
  CHECK(s.is_io_error());
  CHECK(s.message().find(missing + "/snapshot.tmp") == 0);
  CHECK_FALSE(kv::storage::file_exists(dir.file("missing")));
}

TEST_CASE("snapshot: an image read from one node installs on another, byte for byte") {
  TempDir leader, follower;
  REQUIRE(save(leader.path(), 4, 17, sample_pairs()).ok());
  SnapshotMeta meta;
  auto image = kv::storage::read_snapshot_image(leader.path(), &meta);
  REQUIRE(image.ok());
  CHECK(meta.last_index == 17);
  CHECK(meta.last_term == 4);
  CHECK(meta.count == sample_pairs().size());

  SnapshotMeta installed;
  REQUIRE(kv::storage::install_snapshot_image(follower.path(), *image, &installed).ok());
  CHECK(installed.last_index == 17);
  CHECK(read_file(follower.path() + "/snapshot.bin") == *image);
  Loaded l = load(follower.path());
  CHECK(l.found);
  CHECK(l.pairs == sample_pairs());
  CHECK_FALSE(std::filesystem::exists(follower.path() + "/snapshot.tmp"));
}

TEST_CASE("snapshot: a damaged image from the leader is refused and the old snapshot stays") {
  TempDir leader, follower;
  REQUIRE(save(leader.path(), 1, 5, sample_pairs()).ok());
  REQUIRE(save(follower.path(), 1, 3, {{"old", "state"}}).ok());
  const std::string before = read_file(follower.path() + "/snapshot.bin");
  SnapshotMeta meta;
  auto image = kv::storage::read_snapshot_image(leader.path(), &meta);
  REQUIRE(image.ok());
  for (size_t pos : {size_t{0}, size_t{20}, image->size() / 2, image->size() - 1}) {
    std::string bad = *image;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x40);
    kv::Status s = kv::storage::install_snapshot_image(follower.path(), bad, &meta);
    CHECK(s.is_corruption());
    CHECK(read_file(follower.path() + "/snapshot.bin") == before);
  }
  kv::Status s = kv::storage::install_snapshot_image(follower.path(), image->substr(0, 10), &meta);
  CHECK(s.is_corruption());
  CHECK(read_file(follower.path() + "/snapshot.bin") == before);
}

TEST_CASE("snapshot: reading the image of a directory without one is NotFound") {
  TempDir dir;
  SnapshotMeta meta;
  auto image = kv::storage::read_snapshot_image(dir.path(), &meta);
  CHECK(image.status().is_not_found());
}
