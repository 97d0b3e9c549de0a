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

// "k<n>", built by appending: GCC 12 at -O3 raises a false -Wrestrict on "k" + std::string
// (GCC bug 105329).
std::string short_key(uint64_t n) {
  std::string key = "k";
  key += std::to_string(n);
  return key;
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

TEST_CASE("prefetch hints change nothing: empty table, absent keys, during a rehash") {
  KeySpace ks;
  ks.prefetch_bucket("nothing");  // no bucket array yet
  ks.prefetch_entry("nothing");
  CHECK(ks.size() == 0);
  int i = 0;
  for (; i < 100000 && !(ks.rehashing() && ks.size() > 1000); ++i) ks.set(key_name(i), "v");
  REQUIRE(ks.rehashing());  // entries split between two arrays: both are hinted
  const size_t before = ks.size();
  for (int k = 0; k < i + 100; ++k) {
    ks.prefetch_bucket(key_name(k));
    ks.prefetch_entry(key_name(k));
    ks.prefetch_entry("");
  }
  CHECK(ks.rehashing());
  CHECK(ks.size() == before);
  CHECK(ks.get(key_name(0)) == "v");
  CHECK_FALSE(ks.contains(key_name(i + 50)));
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
    const std::string key = short_key(rng() % key_range);
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

// Checks that ks holds exactly model's pairs: get() finds each, for_each() and a full SCAN
// (no mutation between calls) return every key exactly once.
void check_matches(const KeySpace& ks, const std::unordered_map<std::string, std::string>& model) {
  REQUIRE(ks.size() == model.size());
  std::unordered_map<std::string, int> times;
  ks.for_each([&](std::string_view k, std::string_view v) {
    auto it = model.find(std::string(k));
    REQUIRE(it != model.end());
    REQUIRE(it->second == v);
    ++times[std::string(k)];
  });
  REQUIRE(times.size() == model.size());
  for (const auto& [key, n] : times) REQUIRE(n == 1);
  const auto seen = scan_all(ks, 37);
  REQUIRE(seen.size() == model.size());
  for (const auto& [key, n] : seen) REQUIRE(n == 1);
  for (const auto& [key, value] : model) REQUIRE(ks.get(key) == value);
}

// One random set/append/erase/contains/get on key, mirrored in model and checked.
void random_op(KeySpace& ks, std::unordered_map<std::string, std::string>& model,
               std::mt19937_64& rng, const std::string& key) {
  switch (rng() % 8) {
    case 0:
    case 1: {
      const std::string value = std::to_string(rng() % 1000000);
      const bool is_new = model.insert_or_assign(key, value).second;
      REQUIRE(ks.set(key, value) == is_new);
      break;
    }
    case 2: {
      model[key] += "+";
      REQUIRE(ks.append(key, "+") == model[key].size());
      break;
    }
    case 3:
    case 4:
      REQUIRE(ks.erase(key) == (model.erase(key) == 1));
      break;
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
}

TEST_CASE("randomized differential test with rehash steps interleaved") {
  KeySpace ks;
  std::unordered_map<std::string, std::string> model;
  std::mt19937_64 rng(7);
  int key_range = 64;
  int ops_while_rehashing = 0;
  for (int op = 0; op < 300000; ++op) {
    // Swings between large and tiny key ranges make the table grow and shrink repeatedly.
    if (op % 30000 == 0) key_range = (op / 30000) % 2 == 0 ? 40000 : 40;
    if (ks.rehashing()) ++ops_while_rehashing;
    random_op(ks, model, rng, short_key(rng() % key_range));
    // The server's tick, at random moments and sizes (0 is a no-op).
    if (rng() % 16 == 0) ks.rehash_step(rng() % 4 == 0 ? rng() % 2000 : rng() % 3);
    if (op % 7919 == 0) check_matches(ks, model);
  }
  // Rehashes here are short (the next test holds one open for long); some ops must hit them.
  CHECK(ops_while_rehashing > 200);
  check_matches(ks, model);
}

TEST_CASE("many writes while one rehash is in progress, growing and then shrinking") {
  KeySpace ks;
  std::unordered_map<std::string, std::string> model;
  std::mt19937_64 rng(11);
  // 65537 keys pass the load factor of 65536 buckets: the doubling starts.
  for (int i = 0; i <= 65536; ++i) {
    ks.set(key_name(i), "v");
    model.emplace(key_name(i), "v");
  }
  REQUIRE(ks.rehashing());
  REQUIRE(ks.bucket_count() == 131072);
  int ops = 0;
  for (; ks.rehashing(); ++ops) {
    random_op(ks, model, rng, key_name(static_cast<int>(rng() % 100000)));
    if (ops % 500 == 0) check_matches(ks, model);  // Mid-rehash, both arrays populated.
  }
  CHECK(ops > 300);  // ~41k non-empty old buckets, 100 per write.
  check_matches(ks, model);

  // Erase down to a shrink, then keep writing to a small key range while it runs.
  std::vector<std::string> keys;
  for (const auto& [key, value] : model) keys.push_back(key);
  const size_t before = ks.bucket_count();
  for (size_t i = 0; !ks.rehashing(); ++i) {
    REQUIRE(ks.erase(keys[i]));
    model.erase(keys[i]);
  }
  REQUIRE(ks.bucket_count() < before);
  ops = 0;
  for (; ks.rehashing(); ++ops) {
    random_op(ks, model, rng, keys[rng() % keys.size()]);
    if (ops % 10 == 0) check_matches(ks, model);
  }
  CHECK(ops > 10);
  check_matches(ks, model);
}

TEST_CASE("for_each, scan and memory_bytes during a rehash frozen midway") {
  KeySpace ks;
  std::unordered_map<std::string, std::string> model;
  for (int i = 0; i < 4096; ++i) {
    ks.set(key_name(i), std::to_string(i));
    model.insert_or_assign(key_name(i), std::to_string(i));
  }
  REQUIRE_FALSE(ks.rehashing());
  const size_t full = ks.memory_bytes();
  ks.set(key_name(4096), "new");  // Load factor passes 1: the doubling to 8192 starts.
  model.insert_or_assign(key_name(4096), "new");
  REQUIRE(ks.rehashing());
  // Both arrays count: the old 4096 pointers and the new 8192.
  CHECK(ks.memory_bytes() >= full + 8192 * sizeof(void*));
  for (int step = 0; ks.rehashing(); ++step) {
    check_matches(ks, model);  // Exactly once, whatever the split between the arrays.
    ks.rehash_step(step % 3 == 0 ? 0 : 97);
  }
  check_matches(ks, model);
  CHECK(ks.memory_bytes() < full + 8192 * sizeof(void*) + 1024);
}

TEST_CASE("each write and each tick step moves a bounded number of buckets") {
  KeySpace ks;
  uint64_t moved = ks.rehashed_buckets();
  int writes_while_rehashing = 0;
  int rehashes = 0;
  auto check_write = [&](bool was_rehashing) {
    // At most 100 buckets per step plus the written key's own old bucket.
    REQUIRE(ks.rehashed_buckets() - moved <= 101);
    moved = ks.rehashed_buckets();
    if (was_rehashing) ++writes_while_rehashing;
    if (!was_rehashing && ks.rehashing()) ++rehashes;
  };
  for (int i = 0; i < 300000; ++i) {
    const bool was = ks.rehashing();
    ks.set(key_name(i), "v");
    check_write(was);
  }
  CHECK(rehashes == 17);  // 4 -> 8 -> ... -> 2^19 buckets.
  // The last doubling alone moves ~2^18 * 0.63 non-empty buckets, 100 per write.
  CHECK(writes_while_rehashing > 1500);
  for (int i = 0; i < 300000; ++i) {
    const bool was = ks.rehashing();
    ks.append(key_name(i), "w");
    check_write(was);
    if (i % 2 == 0) {
      const bool was_before_erase = ks.rehashing();
      ks.erase(key_name(i));
      check_write(was_before_erase);
    }
  }
  CHECK(ks.size() == 150000);
}

TEST_CASE("an idle table's rehash finishes through rehash_step alone, in bounded steps") {
  for (const bool grow : {true, false}) {
    CAPTURE(grow);
    KeySpace ks;
    for (int i = 0; i < 16384; ++i) ks.set(key_name(i), "v");
    REQUIRE_FALSE(ks.rehashing());
    REQUIRE(ks.bucket_count() == 16384);
    if (grow) {
      ks.set("one more", "v");  // Doubling to 32768.
    } else {
      for (int i = 0; !ks.rehashing(); ++i) ks.erase(key_name(i));  // Shrink below 2048 keys.
    }
    REQUIRE(ks.rehashing());
    const size_t expected_buckets = grow ? 32768 : 4096;
    CHECK(ks.bucket_count() == expected_buckets);
    const std::map<std::string, int> before = scan_all(ks, 100);
    // rehash_step(1) moves at most one non-empty bucket and skips at most 10 empty ones, so
    // draining 16384 old buckets takes at least 16384 / 11 calls (the write that started the
    // rehash stepped before starting it, so none were drained yet).
    int calls = 0;
    for (; ks.rehashing(); ++calls) ks.rehash_step(1);
    CHECK(calls >= 16384 / 11);
    CHECK(ks.bucket_count() == expected_buckets);
    CHECK(scan_all(ks, 100) == before);
  }
}

// Runs a SCAN (count per call) while between(call) mutates the key space between calls;
// returns the keys seen. Counts calls made during a rehash and after one ended.
struct ScanRun {
  std::set<std::string> seen;
  int calls_while_rehashing = 0;
  int calls_after_rehash = 0;
};

template <typename Between>
ScanRun scan_while(KeySpace& ks, size_t count, Between between) {
  ScanRun run;
  uint64_t cursor = 0;
  bool rehash_seen = false;
  int call = 0;
  do {
    if (ks.rehashing()) {
      rehash_seen = true;
      ++run.calls_while_rehashing;
    } else if (rehash_seen) {
      ++run.calls_after_rehash;
    }
    cursor = ks.scan(cursor, count, [&](std::string_view k) { run.seen.emplace(k); });
    between(call++);
  } while (cursor != 0);
  return run;
}

TEST_CASE("scan returns every kept key while a growth starts, runs and ends between calls") {
  KeySpace ks;
  const int kOriginal = 16384;  // Fills 16384 buckets exactly; one more key starts growth.
  for (int i = 0; i < kOriginal; ++i) ks.set(key_name(i), "v");
  REQUIRE(ks.bucket_count() == 16384);
  REQUIRE_FALSE(ks.rehashing());
  int next_new = kOriginal;
  std::mt19937_64 rng(3);
  const ScanRun run = scan_while(ks, 100, [&](int call) {
    if (call < 20) return;                // Some calls over the single array first.
    ks.set(key_name(next_new++), "new");  // Starts the growth on call 20, then steps it.
    if (rng() % 2 == 0) ks.rehash_step(rng() % 30);
  });
  CHECK(ks.bucket_count() == 32768);
  CHECK(run.calls_while_rehashing > 20);
  CHECK(run.calls_after_rehash > 5);
  for (int i = 0; i < kOriginal; ++i) REQUIRE(run.seen.count(key_name(i)) == 1);
}

TEST_CASE("scan returns every kept key while shrinks start, run and end between calls") {
  KeySpace ks;
  const int kTotal = 16384;
  const int kKept = 300;  // Keys 0..kKept-1 stay; the rest go, shrinking 16384 -> 4096 -> 1024.
  for (int i = 0; i < kTotal; ++i) ks.set(key_name(i), "v");
  REQUIRE(ks.bucket_count() == 16384);
  int next_erase = kTotal - 1;
  int shrinks = 0;
  size_t buckets = ks.bucket_count();
  const ScanRun run = scan_while(ks, 5, [&](int) {
    if (ks.bucket_count() < buckets) ++shrinks;
    buckets = ks.bucket_count();
    if (ks.rehashing()) {
      ks.rehash_step(16);  // Slow progress: the rehash spans many calls.
    } else {
      for (int j = 0; j < 100 && next_erase >= kKept && !ks.rehashing(); ++j) {
        ks.erase(key_name(next_erase--));
      }
    }
  });
  CHECK(shrinks == 2);
  CHECK(ks.bucket_count() == 1024);
  CHECK(run.calls_while_rehashing > 20);
  CHECK(run.calls_after_rehash > 5);
  for (int i = 0; i < kKept; ++i) REQUIRE(run.seen.count(key_name(i)) == 1);
}

TEST_CASE("scan over a table mid-rehash resumes cursors from before it, both directions") {
  // A cursor handed out by the single array must stay valid once a growth or shrink starts:
  // finish the scan entirely within the rehash and check nothing kept was skipped.
  for (const bool grow : {true, false}) {
    CAPTURE(grow);
    KeySpace ks;
    for (int i = 0; i < 16384; ++i) ks.set(key_name(i), "v");
    std::set<std::string> seen;
    uint64_t cursor = 0;
    for (int i = 0; i < 50; ++i) {
      cursor = ks.scan(cursor, 20, [&](std::string_view k) { seen.emplace(k); });
    }
    REQUIRE(cursor != 0);
    int kept = 16384;
    if (grow) {
      ks.set("trigger", "v");
    } else {
      kept = 2047;  // Erasing the keys above 2046 starts the shrink to 4096 buckets.
      for (int i = 16383; i >= kept; --i) ks.erase(key_name(i));
    }
    REQUIRE(ks.rehashing());
    while (cursor != 0) {
      cursor = ks.scan(cursor, 20, [&](std::string_view k) { seen.emplace(k); });
    }
    REQUIRE(ks.rehashing());  // No mutation since: still mid-rehash.
    for (int i = 0; i < kept; ++i) REQUIRE(seen.count(key_name(i)) == 1);
  }
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
