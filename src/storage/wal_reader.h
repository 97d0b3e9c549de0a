// Recovery of the write-ahead log: read_wal streams data_dir/wal.bin once at startup and
// hands every valid record to a callback, telling torn tails (cut off) from corruption
// (refuse to start). Stateless apart from the callback; safe to call from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "storage/wal_format.h"

namespace kv::storage {

struct WalRecoveryInfo {
  uint64_t valid_bytes = 0;  // end of the last good record: pass to WalWriter::open
  uint64_t file_bytes = 0;   // size of the file as found
  uint64_t records = 0;      // records handed to fn
  uint64_t last_term = 0;    // of the last good record (0 if none)
  uint64_t last_index = 0;
  bool torn_tail = false;  // valid_bytes < file_bytes: a crash mid-append was cut off
};

// Reads path from the start and calls fn for each valid record in order; the Record is
// reused between calls (copy what you keep). fn may return a non-OK Status to stop; that
// status is returned. A missing file is an empty log (OK). *info is filled as far as the
// read got, including on error.
//
// End of log (like leveldb's log_reader): bytes after the last good record that hold no
// valid record (a partial record, zeros, garbage) are a torn tail from a crash mid-append:
// torn_tail is set and valid_bytes is the end of the last good record; the caller
// truncates there and warns. If a bad record (checksum mismatch, unknown type, impossible
// length) is followed anywhere later by a valid record with an index above the last good
// one, records were lost in the middle: Corruption("<path>: bad record at offset N
// (<reason>); M bytes of valid records follow"). Also Corruption: a record whose index is
// not the previous index + 1. IOError if the file cannot be read.
//
// Streams the file in chunks (memory ~ the largest record); the forward scan after a bad
// record checks the cheap header fields before computing any checksum.
Status read_wal(const std::string& path, const std::function<Status(const Record&)>& fn,
                WalRecoveryInfo* info);

}  // namespace kv::storage
