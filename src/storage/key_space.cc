#include "storage/key_space.h"

#include <malloc.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <utility>

#include "common/check.h"

namespace kv::storage {

// One key/value pair: this header followed in the same block by key_len key bytes and then
// value_len value bytes. The block may be larger than needed (malloc rounding, append slack);
// its true capacity is malloc_usable_size(). 16 bytes of header: a 16-byte key with a 3-byte
// value fits a 48-byte glibc chunk.
struct KeySpace::Entry {
  Entry* next;  // Next entry of the same chain, nullptr at the end.
  uint32_t key_len;
  uint32_t value_len;

  char* key_data() { return reinterpret_cast<char*>(this + 1); }
  const char* key_data() const { return reinterpret_cast<const char*>(this + 1); }
  char* value_data() { return key_data() + key_len; }
  std::string_view key() const { return {key_data(), key_len}; }
  std::string_view value() const { return {key_data() + key_len, value_len}; }
};

namespace {

static_assert(sizeof(void*) == 8, "the entry layout assumes 64-bit pointers");

constexpr size_t kMinBuckets = 4;
// The largest slack an append adds beyond what it needs (Redis's sds uses 1 MiB too).
constexpr size_t kMaxAppendSlack = size_t{1} << 20;
constexpr size_t kMaxLength = std::numeric_limits<uint32_t>::max();

// Hash: a multiply-fold construction (the idea behind wyhash): a 64x64->128 bit multiply
// folded by xor mixes both operands into every output bit. The seed is fixed, so an attacker
// who can choose keys can force collisions (Redis uses a random SipHash key against that);
// the hash never leaves the process, so the seed can become random later without any format
// change. Reads are little-endian loads; results differ on big-endian, which is harmless.
constexpr uint64_t kSeed = 0x6b76636c75737472;  // "kvclustr"
constexpr uint64_t kMul0 = 0x9e3779b97f4a7c15;  // 2^64 / golden ratio
constexpr uint64_t kMul1 = 0xc2b2ae3d27d4eb4f;
constexpr uint64_t kMul2 = 0x165667b19e3779f9;

inline uint64_t fold_multiply(uint64_t a, uint64_t b) {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

inline uint64_t load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline uint64_t load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

uint64_t hash_key(std::string_view key) {
  const char* p = key.data();
  size_t n = key.size();
  uint64_t state = kSeed ^ (n * kMul0);
  while (n > 16) {
    state = fold_multiply(load64(p) ^ kMul1, load64(p + 8) ^ state) + state;
    p += 16;
    n -= 16;
  }
  // 0..16 bytes remain: read them as two (possibly overlapping) words.
  uint64_t a = 0;
  uint64_t b = 0;
  if (n >= 8) {
    a = load64(p);
    b = load64(p + n - 8);
  } else if (n >= 4) {
    a = load32(p);
    b = load32(p + n - 4);
  } else if (n > 0) {
    a = static_cast<uint64_t>(static_cast<uint8_t>(p[0])) << 16 |
        static_cast<uint64_t>(static_cast<uint8_t>(p[n / 2])) << 8 |
        static_cast<uint64_t>(static_cast<uint8_t>(p[n - 1]));
  }
  return fold_multiply(fold_multiply(a ^ kMul1, b ^ state) ^ kMul2, state ^ kMul0);
}

// The SCAN cursor after `cursor` for a table with bucket mask `mask`: the masked bits are
// incremented as if their order were reversed (carry runs from the top bit downward), and
// bits above the mask are dropped. Because bucket = hash & mask, the buckets of a table of
// any other power-of-two size that hold the keys of the visited buckets form a prefix of the
// same order, so growth or shrinkage between calls never skips a bucket.
uint64_t next_scan_cursor(uint64_t cursor, uint64_t mask) {
  const uint64_t bits = cursor & mask;
  const uint64_t zeros = ~bits & mask;
  if (zeros == 0) return 0;  // All masked bits set: the last bucket in reverse order.
  // The highest zero bit takes the carry; the ones above it (all set) become zero.
  const uint64_t carry = uint64_t{1} << (63 - std::countl_zero(zeros));
  return (bits & (carry - 1)) | carry;
}

// True when [p, p+n) overlaps the block `block` of `capacity` bytes.
bool overlaps(const void* block, size_t capacity, const char* p, size_t n) {
  const auto begin = reinterpret_cast<uintptr_t>(block);
  const auto q = reinterpret_cast<uintptr_t>(p);
  return n > 0 && q < begin + capacity && q + n > begin;
}

void copy_bytes(char* dest, std::string_view src) {
  if (!src.empty()) std::memcpy(dest, src.data(), src.size());
}

}  // namespace

KeySpace::~KeySpace() { free_all(); }

KeySpace::KeySpace(KeySpace&& other) noexcept
    : buckets_(std::exchange(other.buckets_, nullptr)),
      bucket_count_(std::exchange(other.bucket_count_, 0)),
      size_(std::exchange(other.size_, 0)),
      entry_bytes_(std::exchange(other.entry_bytes_, 0)) {}

KeySpace& KeySpace::operator=(KeySpace&& other) noexcept {
  if (this != &other) {
    free_all();
    buckets_ = std::exchange(other.buckets_, nullptr);
    bucket_count_ = std::exchange(other.bucket_count_, 0);
    size_ = std::exchange(other.size_, 0);
    entry_bytes_ = std::exchange(other.entry_bytes_, 0);
  }
  return *this;
}

KeySpace::Entry** KeySpace::find_link(std::string_view key, uint64_t hash) const {
  if (buckets_ == nullptr) return nullptr;
  Entry** link = &buckets_[hash & (bucket_count_ - 1)];
  for (; *link != nullptr; link = &(*link)->next) {
    const Entry* e = *link;
    if (e->key_len == key.size() &&
        (key.empty() || std::memcmp(e->key_data(), key.data(), key.size()) == 0)) {
      return link;
    }
  }
  return nullptr;
}

std::optional<std::string_view> KeySpace::get(std::string_view key) const {
  Entry** link = find_link(key, hash_key(key));
  if (link == nullptr) return std::nullopt;
  return (*link)->value();
}

bool KeySpace::contains(std::string_view key) const {
  return find_link(key, hash_key(key)) != nullptr;
}

bool KeySpace::set(std::string_view key, std::string_view value) {
  KV_CHECK(key.size() <= kMaxLength && value.size() <= kMaxLength);
  const uint64_t hash = hash_key(key);
  Entry** link = find_link(key, hash);
  if (link == nullptr) {
    insert_new(hash, key, value);
    return true;
  }
  // The new value may be (part of) this entry's own value, which a realloc would move.
  std::string copy;
  if (overlaps(*link, malloc_usable_size(*link), value.data(), value.size())) {
    copy.assign(value);
    value = copy;
  }
  Entry* e = resize_value(link, value.size(), /*greedy=*/false);
  copy_bytes(e->value_data(), value);
  return false;
}

size_t KeySpace::append(std::string_view key, std::string_view suffix) {
  KV_CHECK(key.size() <= kMaxLength && suffix.size() <= kMaxLength);
  const uint64_t hash = hash_key(key);
  Entry** link = find_link(key, hash);
  if (link == nullptr) {
    insert_new(hash, key, suffix);
    return suffix.size();
  }
  std::string copy;
  if (overlaps(*link, malloc_usable_size(*link), suffix.data(), suffix.size())) {
    copy.assign(suffix);
    suffix = copy;
  }
  const size_t old_len = (*link)->value_len;
  KV_CHECK(suffix.size() <= kMaxLength - old_len);
  Entry* e = resize_value(link, old_len + suffix.size(), /*greedy=*/true);
  copy_bytes(e->value_data() + old_len, suffix);
  return e->value_len;
}

bool KeySpace::erase(std::string_view key) {
  Entry** link = find_link(key, hash_key(key));
  if (link == nullptr) return false;
  Entry* e = *link;
  *link = e->next;
  entry_bytes_ -= malloc_usable_size(e);
  std::free(e);
  --size_;
  // Shrink at load factor 1/8 to a load factor in (1/4, 1/2]: the gap to the growth
  // threshold keeps alternating inserts and erases from rehashing back and forth.
  if (bucket_count_ > kMinBuckets && size_ < bucket_count_ / 8) {
    resize(std::max(kMinBuckets, std::bit_ceil(size_ * 2)));
  }
  return true;
}

void KeySpace::clear() { free_all(); }

void KeySpace::insert_new(uint64_t hash, std::string_view key, std::string_view value) {
  if (buckets_ == nullptr) resize(kMinBuckets);
  void* block = std::malloc(sizeof(Entry) + key.size() + value.size());
  if (block == nullptr) throw std::bad_alloc();
  Entry* e = new (block)
      Entry{nullptr, static_cast<uint32_t>(key.size()), static_cast<uint32_t>(value.size())};
  copy_bytes(e->key_data(), key);
  copy_bytes(e->value_data(), value);
  Entry** head = &buckets_[hash & (bucket_count_ - 1)];
  e->next = *head;
  *head = e;
  ++size_;
  entry_bytes_ += malloc_usable_size(e);
  if (size_ > bucket_count_) resize(bucket_count_ * 2);
}

KeySpace::Entry* KeySpace::resize_value(Entry** link, size_t value_len, bool greedy) {
  Entry* e = *link;
  const size_t needed = sizeof(Entry) + e->key_len + value_len;
  const size_t capacity = malloc_usable_size(e);
  // Keep the block when the value fits, unless a plain set would leave over half of it idle.
  if (needed <= capacity && (greedy || capacity < 2 * needed)) {
    e->value_len = static_cast<uint32_t>(value_len);
    return e;
  }
  const size_t wanted = greedy ? needed + std::min(needed / 2, kMaxAppendSlack) : needed;
  void* block = std::realloc(e, wanted);
  if (block == nullptr) throw std::bad_alloc();
  e = static_cast<Entry*>(block);
  e->value_len = static_cast<uint32_t>(value_len);
  entry_bytes_ = entry_bytes_ - capacity + malloc_usable_size(e);
  *link = e;
  return e;
}

void KeySpace::resize(size_t new_count) {
  KV_CHECK(std::has_single_bit(new_count));
  auto* fresh = static_cast<Entry**>(std::calloc(new_count, sizeof(Entry*)));
  if (fresh == nullptr) throw std::bad_alloc();
  const uint64_t mask = new_count - 1;
  for (size_t i = 0; i < bucket_count_; ++i) {
    Entry* e = buckets_[i];
    while (e != nullptr) {
      Entry* next = e->next;
      Entry** head = &fresh[hash_key(e->key()) & mask];
      e->next = *head;
      *head = e;
      e = next;
    }
  }
  std::free(buckets_);
  buckets_ = fresh;
  bucket_count_ = new_count;
}

void KeySpace::free_all() noexcept {
  for (size_t i = 0; i < bucket_count_; ++i) {
    Entry* e = buckets_[i];
    while (e != nullptr) {
      Entry* next = e->next;
      std::free(e);
      e = next;
    }
  }
  std::free(buckets_);
  buckets_ = nullptr;
  bucket_count_ = 0;
  size_ = 0;
  entry_bytes_ = 0;
}

uint64_t KeySpace::scan(uint64_t cursor, size_t count,
                        const std::function<void(std::string_view key)>& fn) const {
  if (size_ == 0) return 0;
  const uint64_t mask = bucket_count_ - 1;
  const size_t wanted = std::max<size_t>(count, 1);
  // Like Redis, bound the empty buckets one call may walk so a sparse table still answers
  // quickly.
  size_t bucket_budget = wanted * 10;
  size_t visited = 0;
  do {
    for (const Entry* e = buckets_[cursor & mask]; e != nullptr; e = e->next) {
      fn(e->key());
      ++visited;
    }
    cursor = next_scan_cursor(cursor, mask);
  } while (cursor != 0 && visited < wanted && --bucket_budget > 0);
  return cursor;
}

void KeySpace::for_each(
    const std::function<void(std::string_view key, std::string_view value)>& fn) const {
  for (size_t i = 0; i < bucket_count_; ++i) {
    for (const Entry* e = buckets_[i]; e != nullptr; e = e->next) fn(e->key(), e->value());
  }
}

size_t KeySpace::memory_bytes() const {
  return entry_bytes_ + (buckets_ == nullptr ? 0 : malloc_usable_size(buckets_));
}

}  // namespace kv::storage
