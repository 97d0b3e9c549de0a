// DataDirLock tests: exclusion (also between two locks in one process), release on
// destruction and on move, and clear errors.
#include "testing/test_util.h"
#include "storage/data_dir_lock.h"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "storage/file_util.h"

using kv::storage::DataDirLock;

using kv::testing::read_file;
using kv::testing::TempDir;
using kv::testing::write_file;

namespace {

}  // namespace

TEST_CASE("data dir lock: creates the dir, records the pid, excludes a second holder") {
  TempDir tmp;
  const std::string dir = tmp.file("a/b/data");
  auto first = DataDirLock::acquire(dir);
  REQUIRE(first.ok());
  CHECK(first->dir() == dir);
  CHECK(std::filesystem::is_directory(dir));
  CHECK((std::filesystem::status(dir).permissions() & std::filesystem::perms::owner_all) ==
        std::filesystem::perms::owner_all);
  const std::string pid = std::to_string(::getpid());
  CHECK(read_file(dir + "/LOCK") == pid + "\n");

  auto second = DataDirLock::acquire(dir);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().is_busy());
  CHECK(second.status().message() ==
        "data dir " + dir + " is locked by another process (pid " + pid + ")");
  // The failed attempt must not have clobbered the holder's pid.
  CHECK(read_file(dir + "/LOCK") == pid + "\n");
}

TEST_CASE("data dir lock: destruction releases, moving does not") {
  TempDir tmp;
  const std::string dir = tmp.file("data");
  std::optional<DataDirLock> held;
  {
    auto lock = DataDirLock::acquire(dir);
    REQUIRE(lock.ok());
    held.emplace(std::move(lock.value()));
  }  // the moved-from lock dies here; the lock must still be held by `held`
  CHECK(DataDirLock::acquire(dir).status().is_busy());

  DataDirLock moved = std::move(*held);
  held.reset();
  CHECK(DataDirLock::acquire(dir).status().is_busy());
  { DataDirLock sink = std::move(moved); }
  auto again = DataDirLock::acquire(dir);
  CHECK(again.ok());
}

TEST_CASE("data dir lock: an uncreatable dir is an IOError naming the path") {
  TempDir tmp;
  // Tests may run as root, which ignores permission bits: a regular file as a parent
  // directory fails for everyone.
  const std::string file = tmp.file("plain-file");
  std::ofstream(file) << "not a directory";
  const std::string dir = file + "/sub";
  auto lock = DataDirLock::acquire(dir);
  REQUIRE_FALSE(lock.ok());
  CHECK(lock.status().is_io_error());
  CHECK(lock.status().message().find(file) != std::string::npos);
  CHECK(lock.status().message().find("Not a directory") != std::string::npos);
}
