#include "storage/key_space.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace kv::storage {
namespace {

using namespace std::string_literals;

std::string key_name(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key:%012d", i);
  return buf;
}

// Runs a whole SCAN and counts how often each key came back.
std::map<std::string, int> scan_all(const KeySpace& ks, size_t count) {
  std::map<std::string, int> seen;
  uint64_t cursor = 0;
  do {
    cursor = ks.scan(cursor, count, [&](std::string_view k) { ++seen[std::string(k)]; });
  } while (cursor != 0);
  return seen;
}

TEST_CASE("set, get and overwrite with longer and shorter values") {
  KeySpace ks;
  CHECK(ks.size() == 0);
  CHECK_FALSE(ks.get("a").has_value());
  CHECK(ks.set("a", "1"));
  CHECK(ks.get("a") == "1");
  CHECK_FALSE(ks.set("a", std::string(1000, 'x')));
  CHECK(ks.get("a") == std::string(1000, 'x'));
  CHECK_FALSE(ks.set("a", "yz"));
  CHECK(ks.get("a") == "yz");
  CHECK_FALSE(ks.set("a", std::string(100000, 'q')));
  CHECK(ks.get("a") == std::string(100000, 'q'));
  CHECK_FALSE(ks.set("a", ""));
  CHECK(ks.get("a") == "");
  CHECK(ks.size() == 1);
}

TEST_CASE("erase, contains and size") {
  KeySpace ks;
  for (int i = 0; i < 100; ++i) CHECK(ks.set(key_name(i), std::to_string(i)));
  CHECK(ks.size() == 100);
  CHECK(ks.contains(key_name(42)));
  CHECK(ks.erase(key_name(42)));
  CHECK_FALSE(ks.erase(key_name(42)));
  CHECK_FALSE(ks.contains(key_name(42)));
  CHECK_FALSE(ks.get(key_name(42)).has_value());
  CHECK_FALSE(ks.erase("never-there"));
  CHECK(ks.size() == 99);
  for (int i = 0; i < 100; ++i) {
    if (i != 42) CHECK(ks.get(key_name(i)) == std::to_string(i));
  }
}

TEST_CASE("clear empties the key space and it stays usable") {
  KeySpace ks;
  for (int i = 0; i < 1000; ++i) ks.set(key_name(i), "v");
  ks.clear();
  CHECK(ks.size() == 0);
  CHECK(ks.memory_bytes() == 0);
  CHECK_FALSE(ks.contains(key_name(1)));
  CHECK(scan_all(ks, 10).empty());
  CHECK(ks.set("k", "v"));
  CHECK(ks.get("k") == "v");
}

TEST_CASE("binary keys and values with NUL bytes") {
  KeySpace ks;
  const std::string k1 = "a\0b"s;
  const std::string k2 = "a\0c"s;
  const std::string k3 = "\0"s;
  const std::string v = "\0\xff\0\x01"s;
  CHECK(ks.set(k1, v));
  CHECK(ks.set(k2, "two"));
  CHECK(ks.set(k3, "three"));
  CHECK(ks.size() == 3);
  CHECK(ks.get(k1) == v);
  CHECK(ks.get(k1)->size() == 4);
  CHECK(ks.get(k2) == "two");
  CHECK(ks.get(k3) == "three");
  CHECK_FALSE(ks.contains("a"));
  CHECK(ks.append(k1, "\0"s) == 5);
  CHECK(ks.get(k1) == v + "\0"s);
}

TEST_CASE("empty key and empty value") {
  KeySpace ks;
  CHECK(ks.set("", ""));
  CHECK(ks.contains(""));
  CHECK(ks.get("") == "");
  CHECK(ks.set("k", ""));
  CHECK(ks.get("k").has_value());
  CHECK(ks.get("k")->empty());
  CHECK_FALSE(ks.set("", "now full"));
  CHECK(ks.get("") == "now full");
  CHECK(ks.append("k", "") == 0);
  CHECK(scan_all(ks, 1).size() == 2);
  CHECK(ks.erase(""));
  CHECK_FALSE(ks.contains(""));
}

TEST_CASE("append creates, extends and amortizes") {
  KeySpace ks;
  CHECK(ks.append("log", "ab") == 2);
  CHECK(ks.append("log", "cd") == 4);
  CHECK(ks.get("log") == "abcd");
  std::string expected = "abcd";
  for (int i = 0; i < 10000; ++i) {
    const std::string piece = std::to_string(i);
    expected += piece;
    REQUIRE(ks.append("log", piece) == expected.size());
  }
  CHECK(ks.get("log") == expected);
  // A plain set after appends trims the block back down.
  const size_t before = ks.memory_bytes();
  ks.set("log", "x");
  CHECK(ks.memory_bytes() < before);
  CHECK(ks.get("log") == "x");
}

TEST_CASE("values that alias the key space itself") {
  KeySpace ks;
  ks.set("a", "hello");
  CHECK(ks.append("a", *ks.get("a")) == 10);
  CHECK(ks.get("a") == "hellohello");
  ks.set("a", ks.get("a")->substr(5));  // A suffix of its own value.
  CHECK(ks.get("a") == "hello");
  ks.set("a", std::string(500, 'z'));
  ks.set("a", ks.get("a")->substr(490));  // Shrinks the block below the source offset.
  CHECK(ks.get("a") == std::string(10, 'z'));
  ks.set("b", *ks.get("a"));
  CHECK(ks.get("b") == std::string(10, 'z'));
}

TEST_CASE("randomized differential test against std::unordered_map") {
  KeySpace ks;
  std::unordered_map<std::string, std::string> model;
  std::mt19937_64 rng(20240611);
  auto random_string = [&](size_t max_len) {
    std::string s(rng() % (max_len + 1), '\0');
    for (char& c : s) c = static_cast<char>(rng() % 4 == 0 ? rng() % 256 : 'a' + rng() % 26);
    return s;
  };
  // The live key range swings between small and large so the table grows and shrinks.
  int key_range = 64;
  for (int op = 0; op < 200000; ++op) {
    if (op % 20000 == 0) key_range = (op / 20000) % 2 == 0 ? 8000 : 50;
    const std::string key = "k" + std::to_string(rng() % key_range);
    switch (rng() % 8) {
      case 0:
      case 1: {
        const std::string value = random_string(rng() % 16 == 0 ? 300 : 12);
        const bool is_new = model.insert_or_assign(key, value).second;
        REQUIRE(ks.set(key, value) == is_new);
        break;
      }
      case 2: {
        const std::string suffix = random_string(8);
        model[key] += suffix;
        REQUIRE(ks.append(key, suffix) == model[key].size());
        break;
      }
      case 3:
      case 4: {
        REQUIRE(ks.erase(key) == (model.erase(key) == 1));
        break;
      }
      case 5:
        REQUIRE(ks.contains(key) == (model.count(key) == 1));
        break;
      default: {
        auto it = model.find(key);
        auto got = ks.get(key);
        REQUIRE(got.has_value() == (it != model.end()));
        if (got) REQUIRE(*got == it->second);
      }
    }
    REQUIRE(ks.size() == model.size());
    REQUIRE(ks.size() <= ks.bucket_count());
    if (op % 10000 == 0) {
      size_t visited = 0;
      ks.for_each([&](std::string_view k, std::string_view v) {
        ++visited;
        auto it = model.find(std::string(k));
        REQUIRE(it != model.end());
        REQUIRE(it->second == v);
      });
      REQUIRE(visited == model.size());
    }
  }
}

TEST_CASE("scan visits every key of a static table exactly once") {
  KeySpace ks;
  CHECK(ks.scan(0, 10, [](std::string_view) { FAIL("empty key space"); }) == 0);
  for (int i = 0; i < 5000; ++i) ks.set(key_name(i), "v");
  for (size_t count : {1, 10, 1000, 100000}) {
    const auto seen = scan_all(ks, count);
    REQUIRE(seen.size() == 5000);
    for (const auto& [key, times] : seen) REQUIRE(times == 1);
  }
}

TEST_CASE("scan returns every original key while the table grows between calls") {
  KeySpace ks;
  const int kOriginal = 1000;
  for (int i = 0; i < kOriginal; ++i) ks.set(key_name(i), "v");
  const size_t initial_buckets = ks.bucket_count();
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int next_new = kOriginal;
  do {
    cursor = ks.scan(cursor, 10, [&](std::string_view k) { seen.emplace(k); });
    // Insertions stop eventually; otherwise the scan could never catch up with the growth.
    for (int j = 0; j < 200 && next_new < 40 * kOriginal; ++j) ks.set(key_name(next_new++), "new");
  } while (cursor != 0);
  CHECK(ks.bucket_count() >= initial_buckets * 8);
  for (int i = 0; i < kOriginal; ++i) REQUIRE(seen.count(key_name(i)) == 1);
}

TEST_CASE("scan returns every surviving key while the table shrinks between calls") {
  KeySpace ks;
  const int kTotal = 20000;
  const int kKept = 100;  // Keys 0..kKept-1 stay for the whole iteration.
  for (int i = 0; i < kTotal; ++i) ks.set(key_name(i), "v");
  const size_t initial_buckets = ks.bucket_count();
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int next_erase = kTotal - 1;
  do {
    cursor = ks.scan(cursor, 50, [&](std::string_view k) { seen.emplace(k); });
    for (int j = 0; j < 2000 && next_erase >= kKept; ++j) ks.erase(key_name(next_erase--));
  } while (cursor != 0);
  CHECK(ks.bucket_count() * 32 <= initial_buckets);
  for (int i = 0; i < kKept; ++i) REQUIRE(seen.count(key_name(i)) == 1);
}

TEST_CASE("scan tolerates a cursor from a larger table after a shrink") {
  KeySpace ks;
  for (int i = 0; i < 4096; ++i) ks.set(key_name(i), "v");
  uint64_t cursor = 0;
  for (int i = 0; i < 5; ++i) cursor = ks.scan(cursor, 100, [](std::string_view) {});
  REQUIRE(cursor != 0);
  for (int i = 10; i < 4096; ++i) ks.erase(key_name(i));
  std::set<std::string> seen;
  while (cursor != 0) cursor = ks.scan(cursor, 1, [&](std::string_view k) { seen.emplace(k); });
  // The remaining keys split across visited and unvisited buckets; no crash, no garbage.
  for (const auto& k : seen) CHECK(ks.contains(k));
}

TEST_CASE("for_each visits all pairs") {
  KeySpace ks;
  std::map<std::string, std::string> expected;
  for (int i = 0; i < 3000; ++i) {
    expected[key_name(i)] = std::to_string(i * 7);
    ks.set(key_name(i), std::to_string(i * 7));
  }
  std::map<std::string, std::string> got;
  ks.for_each([&](std::string_view k, std::string_view v) { got.emplace(k, v); });
  CHECK(got == expected);
}

TEST_CASE("memory_bytes grows roughly with the keys") {
  KeySpace ks;
  CHECK(ks.memory_bytes() == 0);
  for (int i = 0; i < 10000; ++i) ks.set(key_name(i), "xxx");
  const size_t at_10k = ks.memory_bytes();
  // Each pair needs at least 16 header + 16 key + 3 value bytes and one bucket pointer.
  CHECK(at_10k >= 10000 * (35 + 8));
  CHECK(at_10k <= 10000 * 100);
  for (int i = 10000; i < 20000; ++i) ks.set(key_name(i), "xxx");
  const size_t at_20k = ks.memory_bytes();
  CHECK(at_20k > at_10k * 3 / 2);
  CHECK(at_20k < at_10k * 3);
  ks.set(key_name(0), std::string(100000, 'b'));
  CHECK(ks.memory_bytes() >= at_20k + 99000);
  for (int i = 0; i < 20000; ++i) ks.erase(key_name(i));
  CHECK(ks.memory_bytes() < 1024);
}

TEST_CASE("buckets double at load factor 1 and shrink when sparse") {
  KeySpace ks;
  CHECK(ks.bucket_count() == 0);
  ks.set("a", "1");
  CHECK(ks.bucket_count() == 4);
  for (int i = 0; i < 1024; ++i) ks.set(key_name(i), "v");
  CHECK(ks.bucket_count() == 2048);  // 1025 keys passed the 1024-bucket load factor of 1.
  for (int i = 0; i < 1024; ++i) ks.erase(key_name(i));
  CHECK(ks.size() == 1);
  CHECK(ks.bucket_count() <= 8);
  CHECK(ks.get("a") == "1");
}

TEST_CASE("move construction and assignment transfer ownership") {
  KeySpace a;
  for (int i = 0; i < 100; ++i) a.set(key_name(i), "v");
  KeySpace b(std::move(a));
  CHECK(b.size() == 100);
  CHECK(a.size() == 0);  // NOLINT(bugprone-use-after-move): documented as empty.
  CHECK_FALSE(a.contains(key_name(1)));
  a.set("x", "y");
  KeySpace c;
  c.set("old", "gone");
  c = std::move(b);
  CHECK(c.size() == 100);
  CHECK_FALSE(c.contains("old"));
  CHECK(c.get(key_name(99)) == "v");
  CHECK(a.get("x") == "y");
}

}  // namespace
}  // namespace kv::storage
