// Hard state tests: round trips, and that a damaged or torn raft_state is reported as
// corruption instead of silently resetting the term or vote (leveldb corruption_test style).
#include "storage/hard_state.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <optional>
#include <string>

#include "storage/file_util.h"
#include "testing/test_util.h"

using kv::storage::HardState;
using kv::storage::kHardStateFileName;
using kv::storage::kHardStateSize;
using kv::storage::kHardStateTempName;
using kv::storage::load_hard_state;
using kv::storage::save_hard_state;

using kv::testing::read_file;
using kv::testing::TempDir;
using kv::testing::write_file;

TEST_CASE("hard_state: a missing file is a new node") {
  TempDir dir;
  auto loaded = load_hard_state(dir.path());
  REQUIRE(loaded.ok());
  CHECK_FALSE(loaded->has_value());
}

TEST_CASE("hard_state: save then load round-trips, and the latest save wins") {
  TempDir dir;
  REQUIRE(save_hard_state(dir.path(), HardState{3, 2}).ok());
  auto loaded = load_hard_state(dir.path());
  REQUIRE(loaded.ok());
  REQUIRE(loaded->has_value());
  CHECK(**loaded == HardState{3, 2});
  CHECK(read_file(dir.file(kHardStateFileName)).size() == kHardStateSize);
  CHECK_FALSE(kv::storage::file_exists(dir.file(kHardStateTempName)));

  for (uint64_t term = 4; term < 20; ++term) {
    REQUIRE(save_hard_state(dir.path(), HardState{term, term % 3}).ok());
  }
  REQUIRE(save_hard_state(dir.path(), HardState{~0ull, ~0ull - 1}).ok());
  loaded = load_hard_state(dir.path());
  REQUIRE(loaded.ok());
  REQUIRE(loaded->has_value());
  CHECK((*loaded)->term == ~0ull);
  CHECK((*loaded)->voted_for == ~0ull - 1);
}

TEST_CASE("hard_state: a leftover temp file is removed and the saved state kept") {
  TempDir dir;
  REQUIRE(save_hard_state(dir.path(), HardState{7, 1}).ok());
  write_file(dir.file(kHardStateTempName), "half a save");
  auto loaded = load_hard_state(dir.path());
  REQUIRE(loaded.ok());
  REQUIRE(loaded->has_value());
  CHECK(**loaded == HardState{7, 1});
  CHECK_FALSE(kv::storage::file_exists(dir.file(kHardStateTempName)));

  SUBCASE("also when there is no saved state yet") {
    REQUIRE(std::remove(dir.file(kHardStateFileName).c_str()) == 0);
    write_file(dir.file(kHardStateTempName), std::string(kHardStateSize, 'x'));
    loaded = load_hard_state(dir.path());
    REQUIRE(loaded.ok());
    CHECK_FALSE(loaded->has_value());
    CHECK_FALSE(kv::storage::file_exists(dir.file(kHardStateTempName)));
  }
}

TEST_CASE("hard_state: every truncation, extension and byte flip is corruption") {
  TempDir dir;
  const std::string path = dir.file(kHardStateFileName);
  REQUIRE(save_hard_state(dir.path(), HardState{12345, 3}).ok());
  const std::string good = read_file(path);
  REQUIRE(good.size() == kHardStateSize);

  auto expect_corruption = [&](const std::string& contents) {
    write_file(path, contents);
    auto loaded = load_hard_state(dir.path());
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.status().is_corruption());
    CHECK(loaded.status().message().find(path) == 0);
  };
  for (size_t cut = 0; cut < good.size(); ++cut) {
    CAPTURE(cut);
    expect_corruption(good.substr(0, cut));
  }
  expect_corruption(good + '\0');
  for (size_t off = 0; off < good.size(); ++off) {
    for (unsigned char mask : {0x01, 0x80, 0xff}) {
      CAPTURE(off);
      CAPTURE(static_cast<int>(mask));
      std::string damaged = good;
      damaged[off] = static_cast<char>(damaged[off] ^ mask);
      expect_corruption(damaged);
    }
  }
  // The good file still loads: the checks above were about the damage, nothing else.
  write_file(path, good);
  auto loaded = load_hard_state(dir.path());
  REQUIRE(loaded.ok());
  REQUIRE(loaded->has_value());
  CHECK(**loaded == HardState{12345, 3});
}

TEST_CASE("hard_state: a save into a missing directory is an IOError naming the file") {
  TempDir dir;
  const std::string missing = dir.file("no/such/dir");
  kv::Status s = save_hard_state(missing, HardState{1, 1});
  REQUIRE(s.is_io_error());
  CHECK(s.message().find(missing) != std::string::npos);
}
