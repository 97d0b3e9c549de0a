// Store: a node's durable state. Owns the data-dir lock, the key space, the write-ahead log
// and snapshots. The WAL is the Raft log: every write command becomes one record (term,
// index). A standalone node is a one-member group in term 1 and applies each write as it
// logs it. In raft mode (config.raft_enabled()) the RaftHost decides what is appended,
// truncated and applied: recovery then only loads the snapshot and hands the log's records
// to Raft, because records past the commit index may still be replaced.
// Single-threaded (the event loop's thread); the only other actor is the forked snapshot
// child, which reads a copy-on-write image of the key space and never talks back except
// through its exit status.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "server/command_table.h"
#include "server/config.h"
#include "storage/data_dir_lock.h"
#include "storage/key_space.h"
#include "storage/wal_format.h"
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

  // ---- Raft mode (the RaftHost drives these) ----
  // The log records recovery found after the snapshot (not applied): moved out once.
  std::vector<storage::Record> take_recovered_records() { return std::move(recovered_records_); }
  uint64_t snapshot_term() const { return snapshot_term_; }
  // Appends one log entry (buffered). REQUIRES: index == last_index() + 1, except right
  // after recovery or a snapshot install.
  void append_entry(uint64_t term, uint64_t index, storage::RecordType type, std::string_view payload);
  // Drops the log from `index` on (a follower's conflicting suffix). Fatal on I/O error.
  void truncate_log(uint64_t index);
  // Writes buffered entries and, under fsync always, fdatasyncs them: on return the log is as
  // durable as the policy promises through last_index().
  void sync_log() { sync_for_replies(); }
  // The state machine applied through (index, term): snapshots are taken there.
  void set_applied(uint64_t index, uint64_t term) {
    applied_index_ = index;
    applied_term_ = term;
  }
  // Replaces key space, snapshot.bin and log with a snapshot image from the leader; the log
  // continues after the snapshot's last index. Stops a snapshot child in flight. Fatal on
  // an I/O error; Corruption (nothing changed) if the image is damaged.
  Status install_snapshot(std::string_view image, uint64_t* last_index, uint64_t* last_term);
  // The Raft configuration in effect at the applied index, as the core encodes it (opaque
  // here). The host calls this whenever that configuration changes; the next snapshot
  // carries these bytes. Recovery and install_snapshot reset it to the snapshot's bytes.
  void set_snapshot_membership(std::string bytes) { membership_ = std::move(bytes); }
  // The membership bytes of snapshot.bin: as loaded at recovery, installed from the leader,
  // or written by the last snapshot this Store completed. Empty with no snapshot, for a
  // version 1 snapshot file, and in standalone mode.
  const std::string& snapshot_membership() const { return snapshot_membership_; }
  // A snapshot finished since the last call: its last index (the log before it is gone).
  std::optional<uint64_t> take_completed_snapshot() {
    auto done = completed_snapshot_;
    completed_snapshot_.reset();
    return done;
  }

  uint64_t last_index() const { return last_index_; }
  uint64_t wal_bytes() const { return wal_->size(); }
  uint64_t snapshot_index() const { return snapshot_index_; }
  bool snapshot_in_progress() const { return snapshot_pid_ > 0; }
  const StoreStats& stats() const { return stats_; }

 private:
  Store(const ServerConfig& config, storage::DataDirLock lock);
  Status recover();
  Status recover_raft_log();
  // Reads wal.bin after the snapshot was loaded: each record the snapshot covers goes to
  // `covered` (may be null; returning false ignores every later record), each later one,
  // checked to follow the one before, to `next`. Then truncates a torn tail (with a warning)
  // and opens wal_ for appending. Errors: Corruption naming the file, IOError.
  Status open_log(const std::function<bool(const storage::Record&)>& covered,
                  const std::function<Status(const storage::Record&)>& next);
  void maybe_start_snapshot();
  void poll_snapshot();

  static constexpr uint64_t kTerm = 1;  // standalone: one-member group, term 1 forever

  std::string data_dir_;
  bool raft_;  // raft mode: recovery does not apply the log; snapshots at applied_index_
  FsyncPolicy fsync_;
  uint64_t snapshot_wal_bytes_;
  storage::DataDirLock lock_;  // held for the life of the Store
  storage::KeySpace keys_;
  std::unique_ptr<storage::WalWriter> wal_;
  // Index of the last record logged; only grows. Records 1..snapshot_index_ live in
  // snapshot.bin, the rest in wal.bin.
  uint64_t last_index_ = 0;
  uint64_t snapshot_index_ = 0;
  uint64_t snapshot_term_ = 0;
  uint64_t applied_index_ = 0;  // raft mode
  uint64_t applied_term_ = 0;
  std::string membership_;                          // raft mode: configuration at applied_index_
  std::string snapshot_membership_;                 // configuration stored in snapshot.bin
  std::vector<storage::Record> recovered_records_;  // raft mode, until the host takes them
  std::optional<uint64_t> completed_snapshot_;
  std::chrono::steady_clock::time_point last_fsync_;

  // The snapshot child (fork) in flight, if any: it writes the key space as of
  // (snapshot_pending_term_, snapshot_pending_index_), with snapshot_pending_membership_.
  pid_t snapshot_pid_ = -1;
  uint64_t snapshot_pending_index_ = 0;
  uint64_t snapshot_pending_term_ = 0;
  std::string snapshot_pending_membership_;
  std::chrono::steady_clock::time_point next_snapshot_attempt_;
  StoreStats stats_;
};

}  // namespace kv::server
