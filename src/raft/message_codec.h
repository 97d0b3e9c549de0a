// Wire encoding of Raft messages, as peers exchange them in internal commands on the RESP
// port. Pure functions over bytes: no I/O, no state, safe from any thread. The decoder
// treats its input as hostile: any malformed input is a Corruption, never a crash, and
// nothing is allocated beyond what the bytes actually present can fill.
//
// Format, version 2. All integers are little-endian and fixed-width (common/coding.h);
// a bool is one byte, 0 or 1; bytes[len] is len raw bytes, len <= UINT32_MAX.
//
//   every message    version u8 (= 2) | kind u8 | from u64 | to u64 | term u64 | body
//
//   kind  message            body
//   1     VoteRequest        pre_vote bool | last_log_index u64 | last_log_term u64 |
//                            transfer bool
//   2     VoteResponse       pre_vote bool | granted bool
//   3     AppendRequest      prev_index u64 | prev_term u64 | commit u64 | count u32 |
//                            count x entry
//         entry              index u64 | term u64 | type u8 | len u32 | payload bytes[len]
//                            (type: 0 command, 1 no-op, 2 config; a config payload
//                            must be a valid membership encoding, membership.h)
//   4     AppendResponse     success bool | match_index u64 | accepted_index u64 |
//                            reject_index u64 | hint_term u64 | hint_index u64
//   5     Heartbeat          commit u64 | read_seq u64
//   6     HeartbeatResponse  read_seq u64
//   7     SnapshotChunk      last_index u64 | last_term u64 | mlen u32 |
//                            membership bytes[mlen] (membership.h) | offset u64 |
//                            done bool | len u32 | data bytes[len]
//   8     SnapshotResponse   snapshot_index u64 | next_offset u64
//   9     TimeoutNow         (empty)
//
// One encoded message is exactly these bytes: trailing bytes are an error, so the carrier
// must frame each message (the RESP bulk string does). The encoding is canonical: if
// decoding succeeds, encoding the result reproduces the input byte for byte.
//
// Worked example: Heartbeat from 2 to 3 in term 5 with commit 6 and read_seq 9 is 42 bytes,
//   02 05 | 02 00 00 00 00 00 00 00 | 03 00.. | 05 00.. | 06 00.. | 09 00 00 00 00 00 00 00
//
// History: version 2 added VoteRequest.transfer, SnapshotChunk's membership, TimeoutNow and
// the check of config payloads. Version 1 peers cannot talk to version 2 ones.
//
// Versioning: any change to a layout above bumps kMessageFormatVersion. Decoders reject a
// version they do not know instead of guessing at it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "raft/message.h"

namespace kv::raft {

inline constexpr uint8_t kMessageFormatVersion = 2;

// The kind byte. 0 is never valid, so a zeroed buffer does not decode.
enum class MessageKind : uint8_t {
  kVoteRequest = 1,
  kVoteResponse = 2,
  kAppendRequest = 3,
  kAppendResponse = 4,
  kHeartbeat = 5,
  kHeartbeatResponse = 6,
  kSnapshotChunk = 7,
  kSnapshotResponse = 8,
  kTimeoutNow = 9,
};

// Fixed sizes, used by the decoder to bound counts before it allocates anything.
inline constexpr size_t kMessageHeaderSize = 1 + 1 + 8 + 8 + 8;
inline constexpr size_t kMinEncodedEntrySize = 8 + 8 + 1 + 4;  // an entry with no payload

// Appends the encoding of `message` to *out.
// REQUIRES: every payload, the chunk data and the entry count fit in 32 bits.
void encode_message(const Message& message, std::string* out);

// Decodes exactly one message from `bytes`. Corruption, naming the field and offset, if
// the version or kind is unknown, a field is truncated, a bool or entry type is out of
// range, a count claims more entries than the bytes can hold, or bytes remain after the
// message, or a config entry's payload is not a valid membership. *out is written only on
// success.
Status decode_message(std::string_view bytes, Message* out);

}  // namespace kv::raft
