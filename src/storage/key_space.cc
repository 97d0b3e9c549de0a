#include "storage/key_space.h"

#include <malloc.h>
#include <sys/mman.h>

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
// Non-empty buckets each set/append/erase moves while rehashing: ~100 short chains, tens of
// microseconds of cache misses at worst, while a rehash still ends after about
// old_bucket_count / 100 writes. A step gives up after 10x as many empty buckets (Redis's
// ratio), so draining a sparse array after a shrink is bounded per call too.
constexpr size_t kRehashStepBuckets = 100;
constexpr size_t kEmptyVisitsPerBucket = 10;
// Granularity at which the drained prefix of an old bucket array goes back to the kernel
// during a rehash (a multiple of the 4/16/64 KiB page sizes): 16 pages per madvise at 4 KiB.
constexpr uintptr_t kReleaseChunk = 64 * 1024;
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
      old_buckets_(std::exchange(other.old_buckets_, nullptr)),
      old_bucket_count_(std::exchange(other.old_bucket_count_, 0)),
      rehash_index_(std::exchange(other.rehash_index_, 0)),
      size_(std::exchange(other.size_, 0)),
      entry_bytes_(std::exchange(other.entry_bytes_, 0)),
      rehashed_buckets_(std::exchange(other.rehashed_buckets_, 0)) {}

KeySpace& KeySpace::operator=(KeySpace&& other) noexcept {
  if (this != &other) {
    free_all();
    buckets_ = std::exchange(other.buckets_, nullptr);
    bucket_count_ = std::exchange(other.bucket_count_, 0);
    old_buckets_ = std::exchange(other.old_buckets_, nullptr);
    old_bucket_count_ = std::exchange(other.old_bucket_count_, 0);
    rehash_index_ = std::exchange(other.rehash_index_, 0);
    size_ = std::exchange(other.size_, 0);
    entry_bytes_ = std::exchange(other.entry_bytes_, 0);
    rehashed_buckets_ = std::exchange(other.rehashed_buckets_, 0);
  }
  return *this;
}

KeySpace::Entry** KeySpace::chain_for(uint64_t hash) const {
  if (old_buckets_ != nullptr) {
    Entry** old = &old_buckets_[hash & (old_bucket_count_ - 1)];
    if (*old != nullptr) return old;
  }
  return &buckets_[hash & (bucket_count_ - 1)];
}

void KeySpace::prefetch_bucket(std::string_view key) const {
  if (buckets_ == nullptr) return;
  const uint64_t hash = hash_key(key);
  if (old_buckets_ != nullptr) __builtin_prefetch(&old_buckets_[hash & (old_bucket_count_ - 1)]);
  __builtin_prefetch(&buckets_[hash & (bucket_count_ - 1)]);
}

void KeySpace::prefetch_entry(std::string_view key) const {
  if (buckets_ == nullptr) return;
  if (const Entry* first = *chain_for(hash_key(key))) __builtin_prefetch(first);
}

KeySpace::Entry** KeySpace::find_link(std::string_view key, uint64_t hash) const {
  if (buckets_ == nullptr) return nullptr;
  Entry** link = chain_for(hash);
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
  rehash_step(kRehashStepBuckets);
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
  rehash_step(kRehashStepBuckets);
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
  rehash_step(kRehashStepBuckets);
  Entry** link = find_link(key, hash_key(key));
  if (link == nullptr) return false;
  Entry* e = *link;
  *link = e->next;
  entry_bytes_ -= malloc_usable_size(e);
  std::free(e);
  --size_;
  resize_if_needed();
  return true;
}

void KeySpace::clear() { free_all(); }

void KeySpace::insert_new(uint64_t hash, std::string_view key, std::string_view value) {
  if (buckets_ == nullptr) start_rehash(kMinBuckets);
  // The key's old bucket, if non-empty, must move first: the key goes to buckets_, and a
  // lookup reads only the old chain while that is non-empty.
  if (old_buckets_ != nullptr) {
    const size_t old_index = hash & (old_bucket_count_ - 1);
    if (old_buckets_[old_index] != nullptr) move_bucket(old_index);
  }
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
  resize_if_needed();
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

void KeySpace::resize_if_needed() {
  if (old_buckets_ != nullptr) return;  // rehash_step() calls again once the rehash ends.
  if (size_ > bucket_count_) {
    start_rehash(bucket_count_ * 2);
  } else if (bucket_count_ > kMinBuckets && size_ < bucket_count_ / 8) {
    // Shrink at load factor 1/8 to a load factor in (1/4, 1/2]: the gap to the growth
    // threshold keeps alternating inserts and erases from rehashing back and forth, and the
    // new array has room for the inserts that may arrive before the rehash ends.
    start_rehash(std::max(kMinBuckets, std::bit_ceil(size_ * 2)));
  }
}

void KeySpace::start_rehash(size_t new_count) {
  KV_CHECK(std::has_single_bit(new_count) && old_buckets_ == nullptr);
  // calloc: a large array comes zeroed from fresh pages (mmap) without touching them now.
  auto* fresh = static_cast<Entry**>(std::calloc(new_count, sizeof(Entry*)));
  if (fresh == nullptr) throw std::bad_alloc();
  if (buckets_ != nullptr) {
    old_buckets_ = buckets_;
    old_bucket_count_ = bucket_count_;
    rehash_index_ = 0;
  }
  buckets_ = fresh;
  bucket_count_ = new_count;
}

void KeySpace::move_bucket(size_t i) {
  const uint64_t mask = bucket_count_ - 1;
  Entry* e = std::exchange(old_buckets_[i], nullptr);
  while (e != nullptr) {
    Entry* next = e->next;
    Entry** head = &buckets_[hash_key(e->key()) & mask];
    e->next = *head;
    *head = e;
    e = next;
  }
  ++rehashed_buckets_;
}

void KeySpace::rehash_step(size_t max_buckets) {
  if (old_buckets_ == nullptr) return;
  const size_t first_index = rehash_index_;
  size_t empty_visits_left = max_buckets * kEmptyVisitsPerBucket;
  while (max_buckets > 0 && rehash_index_ < old_bucket_count_) {
    if (old_buckets_[rehash_index_] == nullptr) {
      ++rehash_index_;
      if (--empty_visits_left == 0) break;
      continue;
    }
    move_bucket(rehash_index_++);
    --max_buckets;
  }
  if (rehash_index_ < old_bucket_count_) {
    release_drained(first_index);
    return;
  }
  std::free(old_buckets_);
  old_buckets_ = nullptr;
  old_bucket_count_ = 0;
  rehash_index_ = 0;
  // Writes during the rehash may have crossed a threshold that could not act then.
  resize_if_needed();
}

void KeySpace::release_drained(size_t first_index) {
  // Every old bucket below rehash_index_ holds nullptr and is never written again, and a
  // private anonymous page dropped with MADV_DONTNEED reads back as zeros, i.e. nullptrs:
  // scan() may still read them. The chunks drained since first_index go now; a failure
  // only leaves the pages for the final free(). Only whole aligned chunks inside the array,
  // so malloc's chunk header and live buckets are never touched.
  const auto base = reinterpret_cast<uintptr_t>(old_buckets_);
  const auto at = [&](size_t index) { return reinterpret_cast<uintptr_t>(old_buckets_ + index); };
  const uintptr_t array_start = (base + kReleaseChunk - 1) & ~(kReleaseChunk - 1);
  const uintptr_t begin = std::max(array_start, at(first_index) & ~(kReleaseChunk - 1));
  const uintptr_t end = at(rehash_index_) & ~(kReleaseChunk - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

void KeySpace::free_all() noexcept {
  auto free_array = [](Entry** table, size_t count) {
    for (size_t i = 0; i < count; ++i) {
      Entry* e = table[i];
      while (e != nullptr) {
        Entry* next = e->next;
        std::free(e);
        e = next;
      }
    }
    std::free(table);
  };
  free_array(old_buckets_, old_bucket_count_);
  free_array(buckets_, bucket_count_);
  buckets_ = nullptr;
  bucket_count_ = 0;
  old_buckets_ = nullptr;
  old_bucket_count_ = 0;
  rehash_index_ = 0;
  size_ = 0;
  entry_bytes_ = 0;
}

uint64_t KeySpace::scan(uint64_t cursor, size_t count,
                        const std::function<void(std::string_view key)>& fn) const {
  if (size_ == 0) return 0;
  const size_t wanted = std::max<size_t>(count, 1);
  // Like Redis, bound the empty buckets one call may walk so a sparse table still answers
  // quickly.
  size_t bucket_budget = wanted * 10;
  size_t visited = 0;
  auto visit_chain = [&](const Entry* e) {
    for (; e != nullptr; e = e->next) {
      fn(e->key());
      ++visited;
    }
  };
  if (old_buckets_ == nullptr) {
    const uint64_t mask = bucket_count_ - 1;
    do {
      visit_chain(buckets_[cursor & mask]);
      cursor = next_scan_cursor(cursor, mask);
    } while (cursor != 0 && visited < wanted && --bucket_budget > 0);
    return cursor;
  }
  // Rehashing: the cursor advances over the smaller array. The keys that hash to its bucket
  // b sit either there or, in the larger array, in the buckets whose low bits equal b; in
  // reverse-binary order those follow b consecutively (the extra high bits count first), so
  // visiting them in that order until the extra bits wrap to zero leaves the cursor at the
  // smaller array's next bucket. A cursor with extra bits already set resumes mid-run: the
  // earlier ones were visited by calls made while the table was larger.
  Entry* const* small = buckets_;
  Entry* const* large = old_buckets_;
  uint64_t small_mask = bucket_count_ - 1;
  uint64_t large_mask = old_bucket_count_ - 1;
  if (small_mask > large_mask) {
    std::swap(small, large);
    std::swap(small_mask, large_mask);
  }
  const uint64_t extra_bits = large_mask & ~small_mask;
  do {
    visit_chain(small[cursor & small_mask]);
    do {
      visit_chain(large[cursor & large_mask]);
      cursor = next_scan_cursor(cursor, large_mask);
    } while ((cursor & extra_bits) != 0);
  } while (cursor != 0 && visited < wanted && --bucket_budget > 0);
  return cursor;
}

void KeySpace::for_each(
    const std::function<void(std::string_view key, std::string_view value)>& fn) const {
  // Every entry is in exactly one array; old buckets below rehash_index_ are empty.
  for (size_t i = rehash_index_; i < old_bucket_count_; ++i) {
    for (const Entry* e = old_buckets_[i]; e != nullptr; e = e->next) fn(e->key(), e->value());
  }
  for (size_t i = 0; i < bucket_count_; ++i) {
    for (const Entry* e = buckets_[i]; e != nullptr; e = e->next) fn(e->key(), e->value());
  }
}

size_t KeySpace::memory_bytes() const {
  // malloc_usable_size(nullptr) is 0.
  return entry_bytes_ + malloc_usable_size(buckets_) + malloc_usable_size(old_buckets_);
}

}  // namespace kv::storage
