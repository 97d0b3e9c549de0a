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

#include "common/coding.h"
#include "common/crc32c.h"
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

kv::Status save(const std::string& dir, uint64_t term, uint64_t index, const Pairs& pairs,
                std::string_view membership = {}) {
  return write_snapshot(dir, term, index, membership, [&](const SnapshotSink& sink) {
    for (const auto& [k, v] : pairs) sink(k, v);
  });
}

// A whole snapshot image laid out by hand (not by write_snapshot), with a correct checksum:
// version 1 when membership is null, else version 2 with *membership and the length `mlen`
// claimed for it (normally its size).
std::string hand_image(uint64_t term, uint64_t index, const Pairs& pairs,
                       const std::string* membership, uint32_t mlen) {
  std::string out = membership ? "KVSNAP02" : "KVSNAP01";
  kv::coding::put_fixed64(&out, term);
  kv::coding::put_fixed64(&out, index);
  if (membership) {
    kv::coding::put_fixed32(&out, mlen);
    out += *membership;
  }
  kv::coding::put_fixed64(&out, pairs.size());
  for (const auto& [k, v] : pairs) {
    kv::coding::put_fixed32(&out, static_cast<uint32_t>(k.size()));
    out += k;
    kv::coding::put_fixed32(&out, static_cast<uint32_t>(v.size()));
    out += v;
  }
  kv::coding::put_fixed32(&out, kv::crc32c::value(out.data(), out.size()));
  return out;
}

std::string v1_image(uint64_t term, uint64_t index, const Pairs& pairs) {
  return hand_image(term, index, pairs, nullptr, 0);
}

std::string v2_image(uint64_t term, uint64_t index, const Pairs& pairs,
                     const std::string& membership) {
  return hand_image(term, index, pairs, &membership, static_cast<uint32_t>(membership.size()));
}

// Bytes as opaque as the Raft core's encode_membership output: any value must survive.
std::string sample_membership() { return std::string("\x02\0voters\xff\r\n1,2,3", 16); }

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
  CHECK(read_file(dir.file("snapshot.bin")).size() == 8 + 16 + 4 + 8 + 4);
  Loaded l = load(dir.path());
  REQUIRE(l.status.ok());
  CHECK(l.found);
  CHECK(l.meta.count == 0);
  CHECK(l.meta.last_term == 1);
  CHECK(l.meta.membership.empty());
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
  REQUIRE(write_snapshot(dir.path(), 1, kKeys, "", [](const SnapshotSink& sink) {
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

TEST_CASE("snapshot: the membership blob round-trips, opaque, through file and image") {
  TempDir leader, follower;
  const std::string membership = sample_membership();
  REQUIRE(save(leader.path(), 7, 70, sample_pairs(), membership).ok());

  Loaded l = load(leader.path());
  REQUIRE(l.status.ok());
  CHECK(l.meta.membership == membership);
  CHECK(l.meta.last_index == 70);
  CHECK(l.pairs == sample_pairs());

  SnapshotMeta meta;
  auto image = kv::storage::read_snapshot_image(leader.path(), &meta);
  REQUIRE(image.ok());
  CHECK(meta.membership == membership);
  SnapshotMeta installed;
  REQUIRE(kv::storage::install_snapshot_image(follower.path(), *image, &installed).ok());
  CHECK(installed.membership == membership);
  CHECK(installed.last_term == 7);
  Loaded f = load(follower.path());
  CHECK(f.meta.membership == membership);
  CHECK(f.pairs == sample_pairs());
}

TEST_CASE("snapshot: version 2 layout is exactly the documented one") {
  TempDir dir;
  // The worked example in snapshot.h.
  REQUIRE(save(dir.path(), 3, 42, {{"a", "1"}}, "m").ok());
  const std::string written = read_file(dir.file("snapshot.bin"));
  CHECK(written.size() == 51);
  CHECK(written == v2_image(3, 42, {{"a", "1"}}, "m"));
  // An empty membership still has its length field.
  REQUIRE(save(dir.path(), 3, 42, sample_pairs()).ok());
  CHECK(read_file(dir.file("snapshot.bin")) == v2_image(3, 42, sample_pairs(), ""));
}

TEST_CASE("snapshot: a version 1 file still loads, with an empty membership") {
  TempDir dir, follower;
  const std::string v1 = v1_image(2, 11, sample_pairs());
  write_file(dir.file("snapshot.bin"), v1);
  Loaded l = load(dir.path());
  REQUIRE(l.status.ok());
  CHECK(l.found);
  CHECK(l.meta.last_term == 2);
  CHECK(l.meta.last_index == 11);
  CHECK(l.meta.count == sample_pairs().size());
  CHECK(l.meta.membership.empty());
  CHECK(l.pairs == sample_pairs());

  SnapshotMeta meta;
  meta.membership = "stale";
  auto image = kv::storage::read_snapshot_image(dir.path(), &meta);
  REQUIRE(image.ok());
  CHECK(*image == v1);
  CHECK(meta.membership.empty());
  SnapshotMeta installed;
  REQUIRE(kv::storage::install_snapshot_image(follower.path(), v1, &installed).ok());
  CHECK(installed.last_index == 11);
  CHECK(installed.membership.empty());
  CHECK(load(follower.path()).pairs == sample_pairs());

  SUBCASE("and is Corruption at every truncation and flipped byte") {
    // A small image: every byte of the sample (100 KB value) would mean 200k file rewrites.
    const std::string small = v1_image(2, 11, {{"alpha", "1"}, {"", ""}, {"gamma", "three"}});
    const std::string path = dir.file("snapshot.bin");
    for (size_t cut = 0; cut < small.size(); ++cut) {
      CAPTURE(cut);
      write_file(path, small.substr(0, cut));
      Loaded bad = load(dir.path());
      REQUIRE(bad.status.is_corruption());
      CHECK(bad.calls == 0);
    }
    for (size_t off = 0; off < small.size(); ++off) {
      CAPTURE(off);
      std::string damaged = small;
      damaged[off] = static_cast<char>(damaged[off] ^ 0x10);
      write_file(path, damaged);
      Loaded bad = load(dir.path());
      REQUIRE(bad.status.is_corruption());
      CHECK(bad.calls == 0);
    }
  }
}

TEST_CASE("snapshot: a membership length past the end is Corruption naming file and offset") {
  TempDir dir, follower;
  REQUIRE(save(follower.path(), 1, 3, {{"old", "state"}}, "old-config").ok());
  const std::string before = read_file(follower.file("snapshot.bin"));
  const std::string path = dir.file("snapshot.bin");
  const std::string membership = sample_membership();
  const Pairs pairs{{"k", "v"}};
  // Claimed lengths that overrun: by one byte into the count, over the whole rest, and the
  // largest u32. Each image has a correct checksum, so only the length check can catch it.
  // Bytes between the mlen field and the checksum: membership, count and pairs.
  const uint32_t rest =
      static_cast<uint32_t>(v2_image(1, 5, pairs, membership).size() - (8 + 16 + 4) - 4);
  for (uint32_t mlen : {rest - 8 + 1, rest, rest + 1, uint32_t{0xffffffff}}) {
    CAPTURE(mlen);
    const std::string image = hand_image(1, 5, pairs, &membership, mlen);
    write_file(path, image);
    Loaded l = load(dir.path());
    REQUIRE(l.status.is_corruption());
    CHECK(l.status.message().find(path) == 0);
    const std::string expected = "membership length " + std::to_string(mlen) + " at offset 24";
    CHECK(l.status.message().find(expected) != std::string::npos);
    CHECK(l.calls == 0);

    SnapshotMeta meta;
    CHECK(kv::storage::read_snapshot_image(dir.path(), &meta).status().is_corruption());
    kv::Status s = kv::storage::install_snapshot_image(follower.path(), image, &meta);
    CHECK(s.is_corruption());
    CHECK(s.message().find("membership length") != std::string::npos);
    CHECK(read_file(follower.file("snapshot.bin")) == before);
  }
  // A length too short is caught too: the rest no longer parses as count and pairs.
  write_file(path, hand_image(1, 5, pairs, &membership, 3));
  Loaded l = load(dir.path());
  CHECK(l.status.is_corruption());
  CHECK(l.calls == 0);
}
