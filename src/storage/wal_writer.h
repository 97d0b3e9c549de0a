// WalWriter appends records (wal_format.h) to data_dir/wal.bin through an in-memory buffer.
// The owner decides when bytes reach the file (flush) and the disk (sync), which is what
// lets many writes share one fdatasync (group commit). A failed write or sync aborts the
// process: see flush(). Not thread-safe: one owner (the event loop) calls everything.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/file_util.h"
#include "storage/wal_format.h"

namespace kv::storage {

class WalWriter {
 public:
  // Opens (creating if missing) path for appending. First truncates the file to
  // valid_size (WalRecoveryInfo::valid_bytes from read_wal) and fsyncs that truncation, so
  // a torn tail can never reappear behind new records. Removes a stale path+".tmp" left by
  // a crashed rewrite_from. Errors: IOError naming the path and strerror;
  // InvalidArgument if the file is shorter than valid_size.
  static Result<std::unique_ptr<WalWriter>> open(const std::string& path, uint64_t valid_size);

  // Flushes (no sync) what is still buffered.
  ~WalWriter();
  WalWriter(const WalWriter&) = delete;
  WalWriter& operator=(const WalWriter&) = delete;

  // Encodes one record into the buffer; no syscall, no allocation beyond buffer growth.
  // REQUIRES: payload.size() <= kMaxPayload; after the first append on this writer, index
  // is the previous index + 1 (the reader rejects anything else as corruption).
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
  // REQUIRES: buffered_bytes() == 0; offset <= size() and is a record boundary.
  Status rewrite_from(uint64_t offset);

 private:
  WalWriter(std::string path, UniqueFd fd, uint64_t size);

  const std::string path_;
  UniqueFd fd_;  // opened O_APPEND on path_ (after rewrite_from: on the new file)
  // Unsent records; cleared (capacity kept) by flush so steady state does not allocate.
  std::string buffer_;
  uint64_t file_size_;       // bytes written to the file; invariant: synced_size_ <= file_size_
  uint64_t synced_size_;     // prefix of the file covered by a successful fsync/fdatasync
  uint64_t last_index_ = 0;  // index of the last append on this writer
  bool appended_ = false;    // whether last_index_ is meaningful
};

}  // namespace kv::storage
