// Start-up against a damaged or busy environment: torn WAL tails are cut off with a warning,
// corruption in the middle of the WAL is refused naming file and offset, and a locked data
// dir or a busy port is refused while the node that holds it keeps serving.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "common/coding.h"
#include "e2e/harness.h"
#include "storage/wal_format.h"

using namespace kv::e2e;
using kv::protocol::Reply;

namespace {

void set_keys(uint16_t port, const std::string& prefix, int count) {
  auto c = connect_client(port);
  for (int i = 0; i < count; ++i) {
    REQUIRE(c.send({"SET", prefix + std::to_string(i), "value" + std::to_string(i)}).ok());
  }
  for (int i = 0; i < count; ++i) {
    auto r = c.read_reply();
    REQUIRE(r.ok());
    REQUIRE(r->type == Reply::Type::kSimpleString);
  }
}

// Number of keys prefix0..prefix<count-1> that are missing or wrong.
int count_missing(uint16_t port, const std::string& prefix, int count) {
  auto c = connect_client(port);
  for (int i = 0; i < count; ++i) REQUIRE(c.send({"GET", prefix + std::to_string(i)}).ok());
  int missing = 0;
  for (int i = 0; i < count; ++i) {
    auto r = c.read_reply();
    REQUIRE(r.ok());
    if (r->type != Reply::Type::kBulkString || r->str != "value" + std::to_string(i)) ++missing;
  }
  return missing;
}

// Byte offsets of the records in a WAL image (walking the length fields).
std::vector<size_t> record_offsets(const std::string& wal) {
  std::vector<size_t> offsets;
  size_t off = 0;
  while (off + kv::storage::kHeaderSize <= wal.size()) {
    offsets.push_back(off);
    uint32_t len = kv::coding::decode_fixed32(wal.data() + off + kv::storage::kLengthOffset);
    off += kv::storage::encoded_record_size(len);
  }
  REQUIRE(off == wal.size());
  return offsets;
}

void stop(Node& node) {
  node.process->signal(SIGTERM);
  REQUIRE(node.process->wait_exit() == 0);
}

}  // namespace

TEST_CASE("a torn tail on wal.bin is truncated with a warning and the node carries on") {
  TempDir tmp;
  const std::string dir = tmp.sub("data");
  const std::string wal_path = dir + "/wal.bin";
  {
    Node node = start_kvstore(dir);
    set_keys(node.port, "key", 50);
    stop(node);
  }
  const std::string wal = read_file(wal_path);
  REQUIRE(wal.size() > 2 * kv::storage::kHeaderSize);

  std::string tail;
  SUBCASE("the first 10 bytes of a record header") { tail = wal.substr(0, 10); }
  SUBCASE("a whole header whose payload was cut short") {
    uint32_t len = kv::coding::decode_fixed32(wal.data() + kv::storage::kLengthOffset);
    REQUIRE(len > 2);
    tail = wal.substr(0, kv::storage::kHeaderSize + len - 2);
  }
  SUBCASE("zero-filled bytes") { tail = std::string(4096, '\0'); }
  SUBCASE("garbage bytes") {
    std::mt19937 rng(12345);
    for (int i = 0; i < 300; ++i) tail.push_back(static_cast<char>(rng() & 0xff));
  }
  append_file(wal_path, tail);

  {
    Node node = start_kvstore(dir);
    static const std::regex kTornWarning(R"(^WARN .*(torn|truncat))", std::regex::icase);
    CHECK_MESSAGE(node.process->wait_for_line(kTornWarning, 1s).has_value(),
                  "no torn-tail warning in:\n" << node.process->log());
    CHECK(info_field(node_info(node.port), "recovered_torn_tail") == "1");
    CHECK(count_missing(node.port, "key", 50) == 0);
    // Cut exactly at the end of the last good record: the old records, then whole ones.
    const std::string now = read_file(wal_path);
    CHECK(now.compare(0, wal.size(), wal) == 0);
    record_offsets(now);
    set_keys(node.port, "after", 20);
    node.process->signal(SIGKILL);
    REQUIRE(node.process->wait_exit() == 128 + SIGKILL);
  }
  Node node = start_kvstore(dir);
  CHECK(info_field(node_info(node.port), "recovered_torn_tail") == "0");
  CHECK(count_missing(node.port, "key", 50) == 0);
  CHECK(count_missing(node.port, "after", 20) == 0);
}

TEST_CASE("a corrupt record in the middle of wal.bin is refused, naming the file and offset") {
  TempDir tmp;
  const std::string dir = tmp.sub("data");
  const std::string wal_path = dir + "/wal.bin";
  {
    Node node = start_kvstore(dir);
    set_keys(node.port, "key", 20);
    stop(node);
  }
  std::string wal = read_file(wal_path);
  auto offsets = record_offsets(wal);
  REQUIRE(offsets.size() >= 10);
  // Flip one payload byte of the third record: valid records follow it.
  const size_t bad = offsets[2];
  wal[bad + kv::storage::kHeaderSize + 1] ^= 0x40;
  write_file(wal_path, wal);

  auto r = run_command({bin_path("kvstore"), "--port", "0", "--data-dir", dir}, 20s);
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 1);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  static const std::regex kFailLine(R"((^|\n)kvstore: [^\n]*wal\.bin[^\n]*)");
  std::smatch m;
  REQUIRE_MESSAGE(std::regex_search(r.err, m, kFailLine), "stderr:\n" << r.err);
  const std::string line = m.str();
  CHECK_MESSAGE(std::regex_search(line, std::regex("offset " + std::to_string(bad) + "\\b")),
                "expected offset " << bad << " in: " << line);
  // Refusing means not repairing: the file is left exactly as found.
  CHECK(read_file(wal_path) == wal);
}

TEST_CASE("a second kvstore on a locked data dir exits 1 while the first keeps serving") {
  TempDir tmp;
  const std::string dir = tmp.sub("data");
  Node first = start_kvstore(dir);

  auto r = run_command({bin_path("kvstore"), "--port", "0", "--data-dir", dir}, 20s);
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 1);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.rfind("kvstore: ", 0) == 0);
  CHECK(r.err.find("locked") != std::string::npos);
  CHECK(r.err.find(std::to_string(first.process->pid())) != std::string::npos);

  auto c = connect_client(first.port);
  CHECK(must_call(c, {"SET", "still", "here"}).str == "OK");
  CHECK(must_call(c, {"GET", "still"}).str == "here");
  CHECK(first.process->running());
}

TEST_CASE("a second kvstore on a busy port exits 1 while the first keeps serving") {
  TempDir tmp;
  Node first = start_kvstore(tmp.sub("one"));

  auto r = run_command({bin_path("kvstore"), "--port", std::to_string(first.port), "--data-dir",
                        tmp.sub("two")},
                       20s);
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 1);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find("port " + std::to_string(first.port) + " is already in use") != std::string::npos);

  auto c = connect_client(first.port);
  CHECK(must_call(c, {"PING"}).str == "PONG");
  CHECK(first.process->running());
}
