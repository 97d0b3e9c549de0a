// Snapshots of the key space: data_dir/snapshot.bin, written atomically (temp file, fsync,
// rename, fsync dir, like leveldb's SetCurrentFile) and loaded at startup before the WAL
// suffix is replayed. Free functions with no shared state; write_snapshot is safe to run
// in a fork()ed child (plain syscalls only, never logs, never aborts).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kv::storage {

// File format (version 2), all integers little-endian:
//
//   magic      8 bytes "KVSNAP02"
//   last_term  u64      term and index of the last WAL record the snapshot includes
//   last_index u64
//   mlen       u32      length of the membership blob
//   membership mlen bytes, opaque here: the Raft core's encoding of the configuration in
//                       effect at last_index (may be empty: a standalone node)
//   count      u64      number of pairs
//   count x    [klen u32][key bytes][vlen u32][value bytes]
//   crc32c     u32      CRC-32C of every byte before it
//
// Version 1 ("KVSNAP01") is the same without mlen and membership; it is still read (with
// an empty membership), never written. Example: a version 2 snapshot at term 3, index 42,
// membership "m" and the one pair a=1 is 8 + 16 + 4 + 1 + 8 + (4+1+4+1) + 4 = 51 bytes.
inline constexpr char kSnapshotMagic[] = "KVSNAP02";
inline constexpr char kSnapshotMagicV1[] = "KVSNAP01";
inline constexpr size_t kSnapshotMagicSize = 8;
// magic, last_term, last_index: the part both versions share.
inline constexpr size_t kSnapshotPrefixSize = kSnapshotMagicSize + 2 * 8;
inline constexpr char kSnapshotFileName[] = "snapshot.bin";
inline constexpr char kSnapshotTempName[] = "snapshot.tmp";

struct SnapshotMeta {
  uint64_t last_term = 0;
  uint64_t last_index = 0;
  uint64_t count = 0;
  std::string membership;  // opaque bytes; empty for a version 1 file
};

using SnapshotSink = std::function<void(std::string_view key, std::string_view value)>;

// Writes dir/snapshot.bin atomically: buffered writes to dir/snapshot.tmp, fsync, rename to
// snapshot.bin, fsync dir. `each` is called once with a sink and must emit every pair
// through it. The temp file is removed unless the rename happened. Errors: IOError naming
// the file and strerror; InvalidArgument for a membership, key or value over 4 GiB. Never
// logs. Always writes version 2, with `membership` stored as is.
Status write_snapshot(const std::string& dir, uint64_t last_term, uint64_t last_index,
                      std::string_view membership,
                      const std::function<void(const SnapshotSink&)>& each);

// Loads dir/snapshot.bin (version 1 or 2): false if there is none; true after filling *meta
// (membership included) and calling fn for every pair. The whole file (checksum and
// structure) is verified before fn is called even once, so nothing from a corrupt snapshot
// is applied: Corruption naming the file (and the offset, for a bad length).
// Also deletes a leftover dir/snapshot.tmp (a crash mid-write), with a warning.
Result<bool> load_snapshot(
    const std::string& dir, SnapshotMeta* meta,
    const std::function<void(std::string_view key, std::string_view value)>& fn);

// The whole of dir/snapshot.bin (what a Raft leader sends a lagging follower), verified
// (magic, checksum, structure) before it is returned, with its metadata (membership
// included) in *meta. The image keeps the version it was written in. Errors:
// NotFound when there is no snapshot, IOError, Corruption naming the file.
Result<std::string> read_snapshot_image(const std::string& dir, SnapshotMeta* meta);

// Verifies `image` (a whole snapshot file received from a Raft leader) and makes it
// dir/snapshot.bin atomically (temp file, fsync, rename, fsync dir), byte for byte; fills
// *meta (membership included). Nothing is written when the image is damaged. Errors:
// Corruption (describing the image), IOError.
Status install_snapshot_image(const std::string& dir, std::string_view image, SnapshotMeta* meta);

}  // namespace kv::storage
