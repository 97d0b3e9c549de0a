#include "cluster/cluster_secret.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>

#include "testing/test_util.h"

namespace kv::cluster {
namespace {

using kv::testing::read_file;
using kv::testing::TempDir;
using kv::testing::write_file;

bool is_hex32(const std::string& s) {
  return s.size() == 32 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

TEST_CASE("random_secret: 32 hex characters, different every time") {
  auto a = random_secret();
  auto b = random_secret();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(is_hex32(*a));
  CHECK(is_hex32(*b));
  CHECK(*a != *b);
}

TEST_CASE("the secret file is created once with mode 0600 and reused") {
  TempDir dir;
  std::string path = secret_file_path(dir.path());
  CHECK(path == dir.path() + "/secret");
  auto first = load_or_create_secret(dir.path());
  REQUIRE(first.ok());
  CHECK(is_hex32(*first));
  CHECK(read_file(path) == *first + "\n");
  CHECK(mode_of(path) == 0600);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

  auto again = load_or_create_secret(dir.path());
  REQUIRE(again.ok());
  CHECK(*again == *first);
  CHECK(mode_of(path) == 0600);
}

TEST_CASE("a secret file written by hand is used as is (one trailing newline dropped)") {
  TempDir dir;
  std::string path = secret_file_path(dir.path());
  write_file(path, "my shared secret\n");
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  auto s = load_or_create_secret(dir.path());
  REQUIRE(s.ok());
  CHECK(*s == "my shared secret");
}

TEST_CASE("an unusable secret file is an error naming it, never quoting it") {
  TempDir dir;
  std::string path = secret_file_path(dir.path());
  SUBCASE("readable by others") {
    write_file(path, "abcdef\n");
    REQUIRE(::chmod(path.c_str(), 0644) == 0);
    auto s = load_or_create_secret(dir.path());
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().message() ==
          path + " can be read by other users (mode 0644): chmod 600 " + path);
    CHECK(read_file(path) == "abcdef\n");  // left alone
  }
  SUBCASE("empty") {
    write_file(path, "\n");
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
    auto s = load_or_create_secret(dir.path());
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().message().find(path + ": the cluster secret is empty (delete the file") == 0);
  }
  SUBCASE("a control character inside") {
    write_file(path, "abc\ndef\n");
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
    auto s = load_or_create_secret(dir.path());
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().message().find("contains a control character") != std::string::npos);
    CHECK(s.status().message().find("abc") == std::string::npos);
  }
  SUBCASE("a directory") {
    REQUIRE(::mkdir(path.c_str(), 0700) == 0);
    auto s = load_or_create_secret(dir.path());
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().message() == path + " is not a regular file");
  }
}

TEST_CASE("cluster_secret: cluster.json's secret wins; no file is written then") {
  TempDir dir;
  write_file(dir.sub("cluster.json"), "");
  auto parsed = parse_cluster_config(
      R"({"mode": "raft", "secret": "from-the-file", "nodes": [{"id": 1, "port": 9001, "data_dir": "a"}]})",
      dir.sub("cluster.json"), "kvstore");
  REQUIRE(parsed.ok());
  REQUIRE(::mkdir(parsed->state_dir.c_str(), 0700) == 0);
  auto s = cluster_secret(*parsed);
  REQUIRE(s.ok());
  CHECK(*s == "from-the-file");
  CHECK_FALSE(std::filesystem::exists(secret_file_path(parsed->state_dir)));

  parsed->secret.reset();
  auto generated = cluster_secret(*parsed);
  REQUIRE(generated.ok());
  CHECK(is_hex32(*generated));
  CHECK(read_file(secret_file_path(parsed->state_dir)) == *generated + "\n");
}

TEST_CASE("secret_problem") {
  CHECK(secret_problem("x") == "");
  CHECK(secret_problem("with spaces and ünïcode") == "");
  CHECK(secret_problem("") == "is empty");
  CHECK(secret_problem(std::string("a\0b", 3)) != "");
  CHECK(secret_problem("a\tb") != "");
  CHECK(secret_problem("a\x7f") != "");
}

}  // namespace
}  // namespace kv::cluster
