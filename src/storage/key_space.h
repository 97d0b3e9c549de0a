// KeySpace: the in-memory map from binary-safe keys to binary-safe string values that a node
// serves GET/SET from. A chained hash table with a power-of-two bucket count; each pair lives
// in ONE malloc'd block ([next][key length][value length][key][value]), so a small key costs
// one allocation plus one bucket pointer. The KeySpace owns every block and the bucket array.
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
  // May rehash the whole table (see resize()). Throws std::bad_alloc when memory runs out;
  // the key space stays consistent (the write may or may not have happened).
  bool set(std::string_view key, std::string_view value);

  // Appends to the value (creating the key if absent, like Redis APPEND); returns the new
  // length. The block grows with slack so that repeated appends cost amortized O(suffix).
  size_t append(std::string_view key, std::string_view suffix);

  // Returns true when the key existed. May shrink (rehash) the table.
  bool erase(std::string_view key);

  size_t size() const { return size_; }
  // Frees every entry and the bucket array.
  void clear();

  // SCAN with Redis semantics: start with cursor 0; visits about `count` keys calling
  // fn(key) (whole buckets, so it may be more; it may be fewer, as in Redis, once a call has
  // walked 10*count buckets) and returns the next cursor, 0 when the iteration is complete.
  // Every key present for the whole iteration is returned at least once even if the table
  // grows or shrinks between calls (reverse-binary cursor increment over power-of-two
  // tables); keys may be returned more than once. fn must not mutate the key space;
  // mutating between calls is fine.
  uint64_t scan(uint64_t cursor, size_t count,
                const std::function<void(std::string_view key)>& fn) const;

  // Visits every pair (order unspecified). fn must not mutate the key space.
  void for_each(const std::function<void(std::string_view key, std::string_view value)>& fn) const;

  // Approximate heap bytes used by the table (bucket array + entry blocks, as reported by
  // malloc_usable_size), for INFO.
  size_t memory_bytes() const;

  // Number of buckets (0 before the first insert or after clear()); for INFO and tests.
  size_t bucket_count() const { return bucket_count_; }

 private:
  struct Entry;  // Defined in key_space.cc.

  // The link (bucket slot or predecessor's next field) pointing at the entry for key, or
  // nullptr if absent. REQUIRES: hash == hash of key.
  Entry** find_link(std::string_view key, uint64_t hash) const;
  // Adds a new entry for an absent key, growing the table when the load factor passes 1.
  void insert_new(uint64_t hash, std::string_view key, std::string_view value);
  // Makes *link's block hold a value of value_len bytes (old value bytes kept up to the
  // shorter length), reallocating when it does not fit; updates *link; returns the entry.
  // greedy adds slack for appends; otherwise an oversized block is trimmed.
  Entry* resize_value(Entry** link, size_t value_len, bool greedy);
  // Rehashes every entry into a new array of new_count buckets at once. Every entry is a
  // cache miss, so this pauses the caller ~0.1-0.5 us per key (measured 0.13-0.3 s for the
  // 512Ki -> 1Mi bucket doubling), once per doubling or shrink. Redis rehashes incrementally
  // to avoid that; do the same if pauses at tens of millions of keys matter.
  // REQUIRES: new_count is a power of two.
  void resize(size_t new_count);
  void free_all() noexcept;

  // Bucket array of bucket_count_ chains; nullptr iff bucket_count_ == 0 (before the first
  // insert, after clear() or a move). bucket_count_ is 0 or a power of two >= kMinBuckets.
  // An entry with hash h sits in chain h & (bucket_count_ - 1).
  Entry** buckets_ = nullptr;
  size_t bucket_count_ = 0;
  // Entries over all chains. Between calls size_ <= bucket_count_ (load factor at most 1).
  size_t size_ = 0;
  // Sum of malloc_usable_size over all entry blocks.
  size_t entry_bytes_ = 0;
};

}  // namespace kv::storage
