// KeySpace: the in-memory map from binary-safe keys to binary-safe string values that a node
// serves GET/SET from. A chained hash table with a power-of-two bucket count; each pair lives
// in ONE malloc'd block ([next][key length][value length][key][value]), so a small key costs
// one allocation plus one bucket pointer. Growing or shrinking rehashes incrementally, as Redis
// does: while a rehash runs, entries live in two bucket arrays and each write (or the server's
// tick, via rehash_step()) moves a bounded number of buckets from the old to the new one, so no
// single call pauses for a whole-table rehash. The KeySpace owns every block and both arrays.
// Not thread-safe: the server's event-loop thread owns it; const calls may run concurrently
// only while nobody mutates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace kv::storage {

class KeySpace {
 public:
  KeySpace() noexcept = default;
  ~KeySpace();
  KeySpace(const KeySpace&) = delete;
  KeySpace& operator=(const KeySpace&) = delete;
  // The moved-from KeySpace is empty and usable.
  KeySpace(KeySpace&& other) noexcept;
  KeySpace& operator=(KeySpace&& other) noexcept;

  // The value's bytes, valid until the next mutation of the key space; nullopt if absent.
  std::optional<std::string_view> get(std::string_view key) const;
  bool contains(std::string_view key) const;

  // Inserts or replaces. Returns true when the key was new. `value` may point into this
  // KeySpace (e.g. a view returned by get()). REQUIRES: key and value shorter than 4 GiB.
  // Each set/append/erase first performs one bounded rehash step (see rehash_step()) and may
  // start a rehash (allocating the new bucket array). Throws std::bad_alloc when memory runs
  // out; the key space stays consistent (the write may or may not have happened).
  bool set(std::string_view key, std::string_view value);

  // Appends to the value (creating the key if absent, like Redis APPEND); returns the new
  // length. The block grows with slack so that repeated appends cost amortized O(suffix).
  size_t append(std::string_view key, std::string_view suffix);

  // Returns true when the key existed. May start shrinking the table.
  bool erase(std::string_view key);

  // Hints for writes known in advance (a Raft node applying a batch of committed entries):
  // start loading the memory a later set/append/erase of `key` reads, so the cache misses
  // of several keys overlap. prefetch_bucket first; prefetch_entry a few keys later, once
  // the bucket is likely cached (it reads the bucket to find the chain's first entry).
  // Neither changes anything.
  void prefetch_bucket(std::string_view key) const;
  void prefetch_entry(std::string_view key) const;

  size_t size() const { return size_; }
  // Frees every entry and the bucket arrays (ending any rehash).
  void clear();

  // While rehashing, moves up to max_buckets non-empty buckets of the old array to the new
  // one, giving up early after visiting 10 * max_buckets empty ones, so the cost is bounded
  // even for a sparse old array. When the move completes, frees the old array and starts the
  // next resize if the size has meanwhile crossed a threshold. No-op when not rehashing. For
  // the server's periodic tick, so an idle table finishes its rehash too. Throws
  // std::bad_alloc only if that next resize cannot allocate (the key space stays consistent).
  void rehash_step(size_t max_buckets);
  // True while entries are split between the old and the new bucket array.
  bool rehashing() const { return old_buckets_ != nullptr; }

  // SCAN with Redis semantics: start with cursor 0; visits about `count` keys calling
  // fn(key) (whole buckets, so it may be more; it may be fewer, as in Redis, once a call has
  // walked 10*count buckets) and returns the next cursor, 0 when the iteration is complete.
  // Every key present for the whole iteration is returned at least once even if the table
  // grows or shrinks, or a rehash starts, progresses or ends, between calls (reverse-binary
  // cursor increment over power-of-two tables; during a rehash, the smaller array's bucket
  // and all larger-array buckets that expand from it); keys may be returned more than once.
  // fn must not mutate the key space; mutating between calls is fine.
  uint64_t scan(uint64_t cursor, size_t count,
                const std::function<void(std::string_view key)>& fn) const;

  // Visits every pair (order unspecified). fn must not mutate the key space.
  void for_each(const std::function<void(std::string_view key, std::string_view value)>& fn) const;

  // Approximate heap bytes used by the table (bucket arrays, both during a rehash, + entry
  // blocks, as reported by malloc_usable_size), for INFO.
  size_t memory_bytes() const;

  // Number of buckets of the array new keys go to, i.e. the target size while rehashing
  // (0 before the first insert or after clear()); for INFO and tests.
  size_t bucket_count() const { return bucket_count_; }

  // Non-empty buckets moved from an old array to a new one since construction, for INFO and
  // for tests that check each write's rehash work stays bounded.
  uint64_t rehashed_buckets() const { return rehashed_buckets_; }

 private:
  struct Entry;  // Defined in key_space.cc.

  // The chain head where key's entry is, if present: its old-array bucket while that is
  // non-empty, else its bucket in buckets_. REQUIRES: buckets_ != nullptr.
  Entry** chain_for(uint64_t hash) const;
  // The link (bucket slot or predecessor's next field) pointing at the entry for key, or
  // nullptr if absent. REQUIRES: hash == hash of key.
  Entry** find_link(std::string_view key, uint64_t hash) const;
  // Adds a new entry for an absent key to buckets_ (first moving its old-array bucket, if
  // any, to keep the invariant on old_buckets_), then starts growing past load factor 1.
  void insert_new(uint64_t hash, std::string_view key, std::string_view value);
  // Makes *link's block hold a value of value_len bytes (old value bytes kept up to the
  // shorter length), reallocating when it does not fit; updates *link; returns the entry.
  // greedy adds slack for appends; otherwise an oversized block is trimmed.
  Entry* resize_value(Entry** link, size_t value_len, bool greedy);
  // When not rehashing, starts growing (load factor past 1) or shrinking (below 1/8).
  void resize_if_needed();
  // Allocates a new array of new_count buckets for new keys; the current one becomes
  // old_buckets_, drained by rehash_step(). Rehashing every entry at once would pause the
  // caller ~0.1-0.5 us per key (measured 0.13-0.3 s at 1M keys), as each is a cache miss.
  // REQUIRES: not rehashing; new_count is a power of two.
  void start_rehash(size_t new_count);
  // Moves every entry of old bucket i to buckets_ and empties it. REQUIRES: rehashing.
  void move_bucket(size_t i);
  // Returns the old array's pages drained since rehash_index_ was first_index to the kernel,
  // so the free() that ends a rehash does not unmap a whole populated array at once (~1 ms
  // per 8 MiB, i.e. per million buckets). REQUIRES: rehashing.
  void release_drained(size_t first_index);
  void free_all() noexcept;

  // Bucket array of bucket_count_ chains, where new keys go; nullptr iff bucket_count_ == 0
  // (before the first insert, after clear() or a move). bucket_count_ is 0 or a power of
  // two >= kMinBuckets. An entry with hash h sits in chain h & (bucket_count_ - 1).
  Entry** buckets_ = nullptr;
  size_t bucket_count_ = 0;
  // While rehashing, the array being drained (nullptr otherwise), with the same chain rule.
  // Invariant: while old bucket b is non-empty, every key whose hash selects b is in it, so a
  // lookup reads exactly one chain. Buckets below rehash_index_ are empty (already moved);
  // later ones may be empty too (moved early by an insert, or never used).
  Entry** old_buckets_ = nullptr;
  size_t old_bucket_count_ = 0;
  size_t rehash_index_ = 0;
  // Entries over both arrays. Between calls size_ <= bucket_count_ (load factor at most 1):
  // a rehash finishes long before the inserts it overlaps could fill its new array.
  size_t size_ = 0;
  // Sum of malloc_usable_size over all entry blocks.
  size_t entry_bytes_ = 0;
  uint64_t rehashed_buckets_ = 0;
};

}  // namespace kv::storage
