// kv_client and kvstore as a user meets them on the command line: put/get/del through
// kv_client, exit codes, --help, and bad flags.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "e2e/harness.h"

using namespace kv::e2e;

namespace {

size_t count_lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

CommandResult kv_client(uint16_t port, std::vector<std::string> args) {
  std::vector<std::string> argv = {bin_path("kv_client"), "--port", std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

}  // namespace

TEST_CASE("kv_client put, get and del round-trip through a node") {
  TempDir tmp;
  Node node = start_kvstore(tmp.sub("data"));

  auto put = kv_client(node.port, {"put", "key1", "value1"});
  CHECK(put.exit_code == 0);
  CHECK(put.out == "OK\n");
  CHECK(put.err.empty());

  auto get = kv_client(node.port, {"get", "key1"});
  CHECK(get.exit_code == 0);
  CHECK(get.out == "value1\n");

  auto del = kv_client(node.port, {"del", "key1"});
  CHECK(del.exit_code == 0);
  CHECK(del.out == "1\n");

  auto gone = kv_client(node.port, {"get", "key1"});
  CHECK(gone.exit_code == 1);
  CHECK(gone.out.empty());
  CHECK(gone.err.empty());
}

TEST_CASE("kv_client get of a key that never existed exits 1 and prints nothing") {
  TempDir tmp;
  Node node = start_kvstore(tmp.sub("data"));
  auto r = kv_client(node.port, {"get", "no-such-key"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.empty());
}

TEST_CASE("kv_client against a closed port exits 2 with one line on stderr") {
  uint16_t port = pick_free_port();  // nothing listens there
  auto r = kv_client(port, {"get", "k"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(count_lines(r.err) == 1);
  CHECK(r.err.find(std::to_string(port)) != std::string::npos);
}

TEST_CASE("--help of kvstore and kv_client exits 0 and documents the flags") {
  auto server = run_command({bin_path("kvstore"), "--help"});
  CHECK(server.exit_code == 0);
  for (const char* flag : {"--port", "--data-dir", "--fsync", "--bind", "--max-clients",
                           "--snapshot-wal-bytes", "--max-bulk-bytes"}) {
    CHECK_MESSAGE(server.out.find(flag) != std::string::npos, "kvstore --help lacks " << flag);
  }

  auto client = run_command({bin_path("kv_client"), "--help"});
  CHECK(client.exit_code == 0);
  for (const char* word : {"--host", "--port", "put", "get", "del"}) {
    CHECK_MESSAGE(client.out.find(word) != std::string::npos, "kv_client --help lacks " << word);
  }
}

TEST_CASE("kvstore rejects bad flags with exit 2 and exactly one line on stderr") {
  TempDir tmp;
  const std::vector<std::vector<std::string>> bad = {
      {"--port", "abc", "--data-dir", tmp.sub("d")},
      {"--port", "0", "--data-dir", tmp.sub("d"), "--fsync", "sometimes"},
      {"--port", "0", "--data-dir", tmp.sub("d"), "--no-such-flag"},
  };
  for (const auto& args : bad) {
    std::vector<std::string> argv = {bin_path("kvstore")};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_command(argv, 10s);
    INFO("args: " << args[0] << " " << args[1] << " ... " << args.back());
    CHECK(r.exit_code == 2);
    CHECK(count_lines(r.err) == 1);
    CHECK(r.err.rfind("kvstore: ", 0) == 0);
    CHECK(r.out.empty());
  }
}
