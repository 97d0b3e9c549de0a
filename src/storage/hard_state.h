// Raft's persistent term and vote: data_dir/raft_state, replaced atomically on every change
// (temp file, fsync, rename, fsync dir) and checksummed so a torn or damaged file is caught
// instead of silently forgetting a vote. Free functions, no shared state, thread-safe for
// different directories; one owner (the Raft core's driver) writes a given directory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"

namespace kv::storage {

// File format, 28 bytes, integers little-endian:
//
//   magic      8 bytes "KVRAFT01"
//   term       u64      current term
//   voted_for  u64      node id voted for in `term`; 0 = no vote
//   crc32c     u32      CRC-32C of the 24 bytes before it
//
// Any other size, a wrong magic or a checksum mismatch is Corruption.
inline constexpr char kHardStateMagic[] = "KVRAFT01";
inline constexpr size_t kHardStateMagicSize = 8;
inline constexpr size_t kHardStateSize = kHardStateMagicSize + 8 + 8 + 4;
inline constexpr char kHardStateFileName[] = "raft_state";
inline constexpr char kHardStateTempName[] = "raft_state.tmp";

struct HardState {
  uint64_t term = 0;       // only grows
  uint64_t voted_for = 0;  // node id, 0 = none in this term

  friend bool operator==(const HardState&, const HardState&) = default;
};

// Writes dir/raft_state atomically: dir/raft_state.tmp is written, fsynced and renamed
// over raft_state, then dir is fsynced, so after a crash the file holds either the old or
// the new state, never a mix. Cost: one small write, one fsync, a rename and a directory
// fsync, cheap enough for every term or vote change. Raft must not answer a vote or act in
// the new term before this returns OK. The temp file is removed on failure. Errors:
// IOError naming the file and strerror (the caller treats it as fatal, like a WAL fsync).
Status save_hard_state(const std::string& dir, const HardState& state);

// Reads dir/raft_state: nullopt if there is none (a new node: term 0, no vote). Removes a
// leftover raft_state.tmp from a save that crashed before its rename (the state it held was
// never acted on), with a warning. Errors: Corruption naming the file and what is wrong;
// IOError naming the file and strerror.
Result<std::optional<HardState>> load_hard_state(const std::string& dir);

}  // namespace kv::storage
