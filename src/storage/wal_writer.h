// WalWriter appends records (wal_format.h) to data_dir/wal.bin through an in-memory buffer.
// The owner decides when bytes reach the file (flush) and the disk (sync), which is what
// lets many writes share one fdatasync (group commit). It also keeps the byte offset of
// every record, so a Raft follower can cut a conflicting suffix (truncate_from). A failed
// write or sync aborts the process: see flush(). Not thread-safe: one owner (the event
// loop) calls everything.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/file_util.h"
#include "storage/wal_format.h"

namespace kv::storage {

class WalWriter {
 public:
  // Opens (creating if missing) path for appending. First truncates the file to
  // valid_size (WalRecoveryInfo::valid_bytes from read_wal) and fsyncs that truncation, so
  // a torn tail can never reappear behind new records. Removes a stale path+".tmp" left by
  // a crashed rewrite_from. Then re-reads the record headers of [0, valid_size) to index
  // each record's start offset (8 bytes of memory per record; right after read_wal the
  // file is in the page cache, and payloads larger than the 1 MiB read window are skipped,
  // not read). Errors: IOError naming the path and strerror; InvalidArgument if the file is
  // shorter than valid_size or valid_size is not the end of a record; Corruption if the
  // indexes in the kept prefix are not consecutive. REQUIRES: [0, valid_size) holds records
  // read_wal accepted (headers are trusted, checksums are not re-verified).
  static Result<std::unique_ptr<WalWriter>> open(const std::string& path, uint64_t valid_size);

  // Flushes (no sync) what is still buffered.
  ~WalWriter();
  WalWriter(const WalWriter&) = delete;
  WalWriter& operator=(const WalWriter&) = delete;

  // Encodes one record into the buffer; no syscall, no allocation beyond buffer growth
  // (and one offset pushed onto the index).
  // REQUIRES (checked): payload.size() <= kMaxPayload; once this writer has appended or
  // truncated, index == last_index() + 1 (after truncate_from(i): i). The first append on
  // a fresh writer may use any index: on an empty file that starts the log (a log after a
  // snapshot starts above 1); on a non-empty file it should be last_index() + 1, and if it
  // is not (which the reader will report as corruption) the offset index restarts at it.
  void append(uint64_t term, uint64_t index, RecordType type, std::string_view payload);

  // write(2)s all buffered bytes, looping over short writes. A failed write is not retried:
  // it logs fatally (naming the file and errno) and aborts. After a failed write or fsync
  // the kernel may have dropped the dirty pages and a retry can report success for data
  // that never reached the disk (fsyncgate); the supervisor restarts the node instead and
  // it recovers from what is really in its log.
  void flush();
  // flush() then fdatasync(); same fatal policy. On return every appended record is durable.
  void sync();

  uint64_t size() const { return file_size_ + buffer_.size(); }  // file + buffered bytes
  uint64_t synced_size() const { return synced_size_; }          // bytes known durable
  uint64_t buffered_bytes() const { return buffer_.size(); }
  const std::string& path() const { return path_; }

  // Replaces the log with its suffix starting at byte `offset` (the records after a
  // snapshot): copies [offset, end) to path+".tmp", fsyncs it, renames it over path, fsyncs
  // the directory and continues appending to the new file. A crash at any step leaves
  // either the old or the new log complete. Errors before the rename leave the old log in
  // place and return IOError; a failed directory fsync after it is fatal, like flush().
  // The record offsets move with the data: first_index() becomes the index of the record
  // that was at `offset` (after rewrite_from(size()) the log is empty and first_index() is
  // the index that comes next).
  // REQUIRES: buffered_bytes() == 0; offset <= size() and is a record boundary.
  Status rewrite_from(uint64_t offset);

  // Empties the log (as rewrite_from(size()) does, with the same crash safety) and pins the
  // next index to next_index: a Raft follower that installed a snapshot ending at
  // next_index - 1 continues its log right after it. REQUIRES: buffered_bytes() == 0.
  Status reset(uint64_t next_index);

  // Removes the record with `index` and every later one, from the buffer and the file, so
  // the next append must be `index` (a Raft follower replacing a conflicting suffix).
  // Records still in the buffer are dropped without a syscall; if any flushed record goes,
  // the rest of the buffer is dropped too and the file is ftruncate()d and fdatasync()ed
  // before this returns, so a crash can never bring the removed entries back.
  // index == last_index() + 1 removes nothing and returns OK (it pins the next index); so
  // does any index on a writer with no records and no known next index (first_index() ==
  // 0: a fresh writer on an empty file). Errors, with nothing changed:
  // InvalidArgument if index < first_index() (those records are not in this file, e.g.
  // covered by a snapshot) or index > last_index() + 1 (the log would have a gap); IOError
  // naming the path if ftruncate fails. A failed fdatasync is fatal, like sync().
  Status truncate_from(uint64_t index);

  // Indexes of the first and last record in the file plus buffer. With no records:
  // last_index() == first_index() - 1 when the next index is known (after truncate_from,
  // or rewrite_from to the end), else both are 0 (any index may come next).
  uint64_t first_index() const { return first_index_; }
  uint64_t last_index() const;
  uint64_t record_count() const { return record_starts_.size(); }
  // Byte offset (in file + buffer) where record `index` starts; size() for last_index() + 1.
  // Feeds rewrite_from after a snapshot that covers index - 1.
  // REQUIRES: first_index() <= index <= last_index() + 1 and the writer has a record or a
  // known next index.
  uint64_t offset_of(uint64_t index) const;

 private:
  WalWriter(std::string path, UniqueFd fd, uint64_t size, uint64_t first_index,
            std::vector<uint64_t> record_starts);
  // Forgets the records before byte `offset` and shifts the rest down by it.
  void drop_starts_before(uint64_t offset);

  const std::string path_;
  UniqueFd fd_;  // opened O_APPEND on path_ (after rewrite_from: on the new file)
  // Unsent records; cleared (capacity kept) by flush so steady state does not allocate.
  std::string buffer_;
  uint64_t file_size_;    // bytes written to the file; invariant: synced_size_ <= file_size_
  uint64_t synced_size_;  // prefix of the file covered by a successful fsync/fdatasync
  // Index of the record at record_starts_[0]; with no records, the index expected next
  // (enforced once index_pinned_; 0 while unknown: a fresh writer on an empty file).
  uint64_t first_index_;
  // Start offset (in file + buffer) of records first_index_, first_index_ + 1, ...:
  // strictly increasing, each < size(), and the last record ends exactly at size().
  std::vector<uint64_t> record_starts_;
  // Whether append checks index == last_index() + 1: set by the first append or
  // truncate_from on this writer and never cleared.
  bool index_pinned_ = false;
};

}  // namespace kv::storage
