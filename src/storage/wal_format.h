// The write-ahead log record format: the one place it is described. Constants and the
// decoded Record only; WalWriter encodes, read_wal decodes. No state, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace kv::storage {

// data_dir/wal.bin is a plain sequence of records with no file header and no padding:
//
//   record := crc32c  u32   checksum of every following byte of this record
//             len     u32   payload length in bytes (<= kMaxPayload)
//             type    u8    RecordType
//             term    u64   Raft term of the entry
//             index   u64   Raft log index; each record's index is the previous one + 1
//             payload len bytes
//
// All integers are little-endian, so a record occupies kHeaderSize + len bytes, and the
// byte offset of a record is the sum of the sizes of the records before it. The crc
// (CRC-32C, Castagnoli) covers len, type, term, index and payload: everything after itself.
//
// Worked example: a kCommand record for `PING` (payload = encode_argv({"PING"}) =
// count 1, then len 4 "PING", 12 bytes) in term 2 at index 7 is 37 bytes:
//
//   9d e5 36 88                crc32c of the 33 bytes that follow = 0x8836e59d
//   0c 00 00 00                len   = 12
//   01                         type  = kCommand
//   02 00 00 00 00 00 00 00    term  = 2
//   07 00 00 00 00 00 00 00    index = 7
//   01 00 00 00 04 00 00 00 50 49 4e 47    payload: argv count 1, len 4, "PING"
//
// The record is the unit of atomicity. On recovery a partial, zero-filled or garbage tail
// with no valid record after it is a torn append from a crash and is cut off; a bad record
// followed by a valid one is corruption (see wal_reader.h).

enum class RecordType : uint8_t {
  kCommand = 1,  // payload: one command's argv, encoded by kv::coding::encode_argv
  kNoop = 2,     // empty payload; appended by a new Raft leader to commit its term
  kConfig = 3,   // a Raft membership change: payload by kv::raft::encode_membership
  kBatch = 4,    // several commands in order, one entry (a Raft leader's write batch):
                 // payload by kv::coding::append_to_batch
};

inline constexpr bool is_known_record_type(uint8_t type) {
  return type >= static_cast<uint8_t>(RecordType::kCommand) &&
         type <= static_cast<uint8_t>(RecordType::kBatch);
}

// Field offsets inside a record.
inline constexpr size_t kCrcOffset = 0;
inline constexpr size_t kLengthOffset = 4;
inline constexpr size_t kTypeOffset = 8;
inline constexpr size_t kTermOffset = 9;
inline constexpr size_t kIndexOffset = 17;
inline constexpr size_t kHeaderSize = 25;

// Largest payload a writer may append; the reader treats a larger length as impossible
// rather than trying to read (or allocate) it.
inline constexpr uint32_t kMaxPayload = 1u << 30;  // 1 GiB

// Bytes a record with a payload of `payload_len` bytes occupies in the file.
inline constexpr uint64_t encoded_record_size(uint64_t payload_len) {
  return kHeaderSize + payload_len;
}

struct Record {
  uint64_t term = 0;
  uint64_t index = 0;
  RecordType type = RecordType::kCommand;
  std::string payload;
};

}  // namespace kv::storage
