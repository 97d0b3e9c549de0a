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

// File format, all integers little-endian:
//
//   magic      8 bytes "KVSNAP01"
//   last_term  u64      term and index of the last WAL record the snapshot includes
//   last_index u64
//   count      u64      number of pairs
//   count x    [klen u32][key bytes][vlen u32][value bytes]
//   crc32c     u32      CRC-32C of every byte before it
inline constexpr char kSnapshotMagic[] = "KVSNAP01";
inline constexpr size_t kSnapshotMagicSize = 8;
inline constexpr size_t kSnapshotHeaderSize = kSnapshotMagicSize + 3 * 8;
inline constexpr char kSnapshotFileName[] = "snapshot.bin";
inline constexpr char kSnapshotTempName[] = "snapshot.tmp";

struct SnapshotMeta {
  uint64_t last_term = 0;
  uint64_t last_index = 0;
  uint64_t count = 0;
};

using SnapshotSink = std::function<void(std::string_view key, std::string_view value)>;

// Writes dir/snapshot.bin atomically: buffered writes to dir/snapshot.tmp, fsync, rename to
// snapshot.bin, fsync dir. `each` is called once with a sink and must emit every pair
// through it. The temp file is removed unless the rename happened. Errors: IOError naming
// the file and strerror; InvalidArgument for a key or value over 4 GiB. Never logs.
Status write_snapshot(const std::string& dir, uint64_t last_term, uint64_t last_index,
                      const std::function<void(const SnapshotSink&)>& each);

// Loads dir/snapshot.bin: false if there is none; true after filling *meta and calling fn
// for every pair. The whole file (checksum and structure) is verified before fn is called
// even once, so nothing from a corrupt snapshot is applied: Corruption naming the file.
// Also deletes a leftover dir/snapshot.tmp (a crash mid-write), with a warning.
Result<bool> load_snapshot(
    const std::string& dir, SnapshotMeta* meta,
    const std::function<void(std::string_view key, std::string_view value)>& fn);

// The whole of dir/snapshot.bin (what a Raft leader sends a lagging follower), verified
// (magic, checksum, structure) before it is returned, with its metadata in *meta. Errors:
// NotFound when there is no snapshot, IOError, Corruption naming the file.
Result<std::string> read_snapshot_image(const std::string& dir, SnapshotMeta* meta);

// Verifies `image` (a whole snapshot file received from a Raft leader) and makes it
// dir/snapshot.bin atomically (temp file, fsync, rename, fsync dir). Nothing is written
// when the image is damaged. Errors: Corruption (describing the image), IOError.
Status install_snapshot_image(const std::string& dir, std::string_view image, SnapshotMeta* meta);

}  // namespace kv::storage
