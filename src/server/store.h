// Store: a node's durable state. Owns the data-dir lock, the key space, the write-ahead log
// and snapshots. The WAL is the (future Raft) log: every write command becomes one record
// (term, index); a standalone node is a one-member group in term 1.
// Single-threaded (the event loop's thread); the only other actor is the forked snapshot
// child, which reads a copy-on-write image of the key space and never talks back except
// through its exit status.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "server/command_table.h"
#include "server/config.h"
#include "storage/data_dir_lock.h"
#include "storage/key_space.h"
#include "storage/wal_writer.h"

namespace kv::server {

struct StoreStats {
  uint64_t recovered_records = 0;
  uint64_t recovered_from_snapshot = 0;  // keys loaded from snapshot.bin at start
  bool recovered_torn_tail = false;
  uint64_t fsyncs = 0;
  uint64_t snapshots_taken = 0;
  uint64_t snapshots_failed = 0;
  std::chrono::milliseconds recovery_time{0};
};

class Store {
 public:
  // Locks data_dir (creating it), loads snapshot.bin, replays wal.bin through the command
  // table, truncates a torn tail. Errors: Busy (locked), Corruption (names file and offset),
  // IOError (unwritable dir).
  static Result<std::unique_ptr<Store>> open(const ServerConfig& config);
  ~Store();

  storage::KeySpace& keys() { return keys_; }
  const std::string& data_dir() const { return data_dir_; }
  FsyncPolicy fsync_policy() const { return fsync_; }

  // Appends a write command to the log (buffered; no syscall). The caller applies it to the
  // key space right after, and must not release the reply before sync_for_replies().
  void log_command(const std::vector<std::string>& argv);

  // The pre-sleep hook: makes every logged command as durable as the policy promises
  // (always: write + fdatasync; everysec/no: write). Replies may leave after this returns.
  void sync_for_replies();

  // Periodic work (call every ~100 ms): everysec fdatasync, snapshot start/finish.
  void tick();

  // Clean shutdown: write + fdatasync everything, stop a running snapshot child.
  void close();

  uint64_t last_index() const { return last_index_; }
  uint64_t wal_bytes() const { return wal_->size(); }
  uint64_t snapshot_index() const { return snapshot_index_; }
  bool snapshot_in_progress() const { return snapshot_pid_ > 0; }
  const StoreStats& stats() const { return stats_; }

 private:
  Store(const ServerConfig& config, storage::DataDirLock lock);
  Status recover();
  void maybe_start_snapshot();
  void poll_snapshot();

  static constexpr uint64_t kTerm = 1;  // standalone: one-member group, term 1 forever

  std::string data_dir_;
  FsyncPolicy fsync_;
  uint64_t snapshot_wal_bytes_;
  storage::DataDirLock lock_;  // held for the life of the Store
  storage::KeySpace keys_;
  std::unique_ptr<storage::WalWriter> wal_;
  // Index of the last record logged; only grows. Records 1..snapshot_index_ live in
  // snapshot.bin, the rest in wal.bin.
  uint64_t last_index_ = 0;
  uint64_t snapshot_index_ = 0;
  std::chrono::steady_clock::time_point last_fsync_;

  // The snapshot child (fork) in flight, if any: it writes the key space as of
  // snapshot_pending_index_, which ends at byte snapshot_wal_offset_ of wal.bin.
  pid_t snapshot_pid_ = -1;
  uint64_t snapshot_pending_index_ = 0;
  uint64_t snapshot_wal_offset_ = 0;
  std::chrono::steady_clock::time_point next_snapshot_attempt_;
  StoreStats stats_;
};

}  // namespace kv::server
