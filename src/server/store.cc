#include "server/store.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "common/coding.h"
#include "common/logging.h"
#include "storage/file_util.h"
#include "storage/snapshot.h"
#include "storage/wal_format.h"
#include "storage/wal_reader.h"

namespace kv::server {

using Clock = std::chrono::steady_clock;

Store::Store(const ServerConfig& config, storage::DataDirLock lock)
    : data_dir_(config.data_dir),
      raft_(config.raft_enabled()),
      fsync_(config.fsync),
      snapshot_wal_bytes_(config.snapshot_wal_bytes),
      lock_(std::move(lock)),
      last_fsync_(Clock::now()),
      next_snapshot_attempt_(Clock::now()) {}

Store::~Store() { close(); }

Result<std::unique_ptr<Store>> Store::open(const ServerConfig& config) {
  auto lock = storage::DataDirLock::acquire(config.data_dir);
  if (!lock.ok()) return lock.status();
  std::unique_ptr<Store> store(new Store(config, std::move(lock).value()));
  Status s = store->recover();
  if (!s.ok()) return s;
  return store;
}

Status Store::recover() {
  auto started = Clock::now();
  storage::SnapshotMeta meta;
  auto loaded = storage::load_snapshot(data_dir_, &meta, [this](std::string_view k, std::string_view v) {
    keys_.set(k, v);
  });
  if (!loaded.ok()) return loaded.status();
  if (*loaded) {
    snapshot_index_ = meta.last_index;
    snapshot_term_ = meta.last_term;
    last_index_ = meta.last_index;
    applied_index_ = meta.last_index;
    applied_term_ = meta.last_term;
    snapshot_membership_ = meta.membership;
    membership_ = std::move(meta.membership);
    stats_.recovered_from_snapshot = meta.count;
  }
  if (raft_) return recover_raft_log();

  const std::string wal_path = storage::join_path(data_dir_, "wal.bin");
  const CommandTable& table = CommandTable::instance();
  std::vector<std::string> argv;
  std::vector<std::string_view> commands;
  std::string scratch_reply;
  // Standalone logs hold kCommand records; a data dir a raft node wrote also holds kBatch
  // records (and no-op and config records, which change no key).
  Status s = open_log(nullptr, [&](const storage::Record& rec) -> Status {
    if (rec.type == storage::RecordType::kCommand) {
      commands.assign(1, rec.payload);
    } else if (rec.type == storage::RecordType::kBatch) {
      Status b = coding::split_batch(rec.payload, &commands);
      if (!b.ok()) {
        return Status::Corruption(fmt::format("{}: record {}: {}", wal_path, rec.index, b.message()));
      }
    } else {
      return Status::OK();
    }
    for (std::string_view command : commands) {
      Status d = coding::decode_argv(command, &argv);
      if (!d.ok()) {
        return Status::Corruption(fmt::format("{}: record {}: {}", wal_path, rec.index, d.message()));
      }
      const CommandSpec* spec = table.find_logged_write(argv);
      if (spec == nullptr) {
        return Status::Corruption(
            fmt::format("{}: record {} holds no valid write command", wal_path, rec.index));
      }
      CommandContext ctx{argv, &scratch_reply, &keys_};
      spec->handler(ctx);
      scratch_reply.clear();
    }
    return Status::OK();
  });
  if (!s.ok()) return s;
  stats_.recovery_time = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  log::info("recovered {} keys in {} ms (snapshot at index {}, {} wal records, last index {})",
            keys_.size(), stats_.recovery_time.count(), snapshot_index_, stats_.recovered_records,
            last_index_);
  return Status::OK();
}

Status Store::open_log(const std::function<bool(const storage::Record&)>& covered,
                       const std::function<Status(const storage::Record&)>& next) {
  const std::string wal_path = storage::join_path(data_dir_, "wal.bin");
  storage::WalRecoveryInfo info;
  bool ignore_rest = false;
  Status s = storage::read_wal(wal_path, [&](const storage::Record& rec) -> Status {
    if (ignore_rest) return Status::OK();
    if (rec.index <= snapshot_index_) {
      if (covered && !covered(rec)) ignore_rest = true;
      return Status::OK();
    }
    if (rec.index != last_index_ + 1) {
      return Status::Corruption(fmt::format(
          "{}: record index {} does not follow index {} (snapshot.bin ends at {})", wal_path,
          rec.index, last_index_, snapshot_index_));
    }
    last_index_ = rec.index;
    stats_.recovered_records++;
    return next(rec);
  }, &info);
  if (!s.ok()) return s;
  if (info.torn_tail) {
    stats_.recovered_torn_tail = true;
    log::warn("{}: torn tail at offset {} ({} bytes after the last whole record) truncated; "
              "a crash interrupted that append, and it was never acknowledged",
              wal_path, info.valid_bytes, info.file_bytes - info.valid_bytes);
  }
  auto wal = storage::WalWriter::open(wal_path, info.valid_bytes);
  if (!wal.ok()) return wal.status();
  wal_ = std::move(wal).value();
  return Status::OK();
}

Status Store::recover_raft_log() {
  bool diverged = false;
  Status s = open_log(
      [&](const storage::Record& rec) {
        // A crash between installing a leader's snapshot and emptying the log leaves the old
        // log behind it. If it disagrees with the snapshot at its last index, it is not a
        // prefix of the leader's log: drop all of it.
        if (rec.index == snapshot_index_ && rec.term != snapshot_term_) diverged = true;
        return !diverged;
      },
      [&](const storage::Record& rec) {
        recovered_records_.push_back(rec);
        return Status::OK();
      });
  if (!s.ok()) return s;
  if (diverged) {
    log::warn("{}: log disagrees with snapshot.bin at index {}; continuing from the snapshot",
              wal_->path(), snapshot_index_);
  }
  if (diverged || wal_->record_count() == 0 || wal_->last_index() < snapshot_index_) {
    Status r = wal_->reset(snapshot_index_ + 1);
    if (!r.ok()) return r;
    recovered_records_.clear();
    last_index_ = snapshot_index_;
  }
  // Records the snapshot already covers may stay until the next trim: Raft never reads them.
  log::info("raft log: snapshot at index {} (term {}), {} log records after it, last index {}",
            snapshot_index_, snapshot_term_, recovered_records_.size(), last_index_);
  return Status::OK();
}

void Store::append_entry(uint64_t term, uint64_t index, storage::RecordType type,
                         std::string_view payload) {
  wal_->append(term, index, type, payload);
  last_index_ = index;
}

void Store::truncate_log(uint64_t index) {
  Status s = wal_->truncate_from(index);
  if (!s.ok()) log::fatal("truncating the log at index {}: {}", index, s.ToString());
  last_index_ = index - 1;
}

Status Store::install_snapshot(std::string_view image, uint64_t* last_index, uint64_t* last_term) {
  if (snapshot_pid_ > 0) {
    ::kill(snapshot_pid_, SIGKILL);
    ::waitpid(snapshot_pid_, nullptr, 0);
    snapshot_pid_ = -1;
  }
  storage::SnapshotMeta meta;
  Status s = storage::install_snapshot_image(data_dir_, image, &meta);
  if (s.is_corruption()) return s;
  if (!s.ok()) log::fatal("installing a snapshot: {}", s.ToString());
  keys_.clear();
  auto loaded = storage::load_snapshot(data_dir_, &meta, [this](std::string_view k, std::string_view v) {
    keys_.set(k, v);
  });
  if (!loaded.ok()) log::fatal("loading the installed snapshot: {}", loaded.status().ToString());
  // The snapshot is durable: only now may the old log go (a crash in between is handled by
  // recover_raft_log).
  wal_->flush();
  s = wal_->reset(meta.last_index + 1);
  if (!s.ok()) log::fatal("emptying the log after a snapshot: {}", s.ToString());
  snapshot_index_ = last_index_ = applied_index_ = meta.last_index;
  snapshot_term_ = applied_term_ = meta.last_term;
  snapshot_membership_ = meta.membership;
  membership_ = std::move(meta.membership);
  completed_snapshot_.reset();
  log::info("snapshot from the leader installed: index {} term {}, {} keys", meta.last_index,
            meta.last_term, keys_.size());
  *last_index = meta.last_index;
  *last_term = meta.last_term;
  return Status::OK();
}

void Store::log_command(const std::vector<std::string>& argv) {
  // Encode straight into a reused buffer: this is the write hot path.
  static thread_local std::string payload;
  payload.clear();
  coding::encode_argv(argv, &payload);
  wal_->append(kTerm, ++last_index_, storage::RecordType::kCommand, payload);
}

void Store::sync_for_replies() {
  if (wal_->buffered_bytes() == 0 && (fsync_ != FsyncPolicy::kAlways || wal_->synced_size() == wal_->size())) {
    return;
  }
  if (fsync_ == FsyncPolicy::kAlways) {
    // fdatasync before any reply leaves: a crash after the reply must not lose the write.
    wal_->sync();
    stats_.fsyncs++;
    last_fsync_ = Clock::now();
  } else {
    wal_->flush();
  }
}

void Store::tick() {
  // Finish an idle table's incremental rehash (writes also move a few buckets each), in
  // slices of at most ~1 ms so the loop stays responsive, as Redis's cron does.
  if (keys_.rehashing()) {
    auto deadline = Clock::now() + std::chrono::milliseconds(1);
    while (keys_.rehashing() && Clock::now() < deadline) keys_.rehash_step(100);
  }
  if (fsync_ == FsyncPolicy::kEverySec && wal_->synced_size() != wal_->size() &&
      Clock::now() - last_fsync_ >= std::chrono::seconds(1)) {
    wal_->sync();
    stats_.fsyncs++;
    last_fsync_ = Clock::now();
  }
  if (snapshot_pid_ > 0) {
    poll_snapshot();
  } else {
    maybe_start_snapshot();
  }
}

void Store::maybe_start_snapshot() {
  if (wal_->size() < snapshot_wal_bytes_ || Clock::now() < next_snapshot_attempt_) return;
  // Standalone: every logged write is applied, so the key space is at last_index_. Raft:
  // at applied_index_ (entries past it may not even be committed).
  snapshot_pending_index_ = raft_ ? applied_index_ : last_index_;
  snapshot_pending_term_ = raft_ ? applied_term_ : kTerm;
  if (snapshot_pending_index_ <= snapshot_index_) return;
  // Captured here, not read by the child from membership_: the pending copy is what
  // poll_snapshot records as snapshot.bin's membership once the child succeeds.
  snapshot_pending_membership_ = raft_ ? membership_ : std::string();
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    log::error("snapshot: fork failed: {}", std::strerror(errno));
    next_snapshot_attempt_ = Clock::now() + std::chrono::seconds(10);
    return;
  }
  if (pid == 0) {
    // Child: sees the key space frozen at fork time (copy-on-write). Dies with its parent.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);  // the parent died before prctl took effect
    // Drop the parent's descriptors: the data-dir lock and the listening socket must die
    // with the parent, not linger until this child finishes.
    ::close_range(3, ~0u, 0);
    Status s = storage::write_snapshot(
        data_dir_, snapshot_pending_term_, snapshot_pending_index_, snapshot_pending_membership_,
        [this](const std::function<void(std::string_view, std::string_view)>& emit) {
          keys_.for_each(emit);
        });
    if (!s.ok()) {
      std::string line = "ERROR snapshot: " + s.ToString() + "\n";
      [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    }
    ::_exit(s.ok() ? 0 : 1);
  }
  snapshot_pid_ = pid;
  log::info("snapshot: started (pid {}) at index {}, wal.bin is {} bytes", pid,
            snapshot_pending_index_, wal_->size());
}

void Store::poll_snapshot() {
  int status = 0;
  pid_t r = ::waitpid(snapshot_pid_, &status, WNOHANG);
  if (r == 0) return;
  snapshot_pid_ = -1;
  if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    stats_.snapshots_failed++;
    log::error("snapshot: child failed (status {}); wal.bin kept whole, retrying in 10 s", status);
    next_snapshot_attempt_ = Clock::now() + std::chrono::seconds(10);
    return;
  }
  // snapshot.bin now durably holds records 1..snapshot_pending_index_: drop them from the log.
  uint64_t before = wal_->size();
  wal_->flush();
  Status s = wal_->rewrite_from(wal_->offset_of(snapshot_pending_index_ + 1));
  if (!s.ok()) log::fatal("snapshot: trimming wal.bin failed: {}", s.ToString());
  snapshot_index_ = snapshot_pending_index_;
  snapshot_term_ = snapshot_pending_term_;
  snapshot_membership_ = std::move(snapshot_pending_membership_);
  completed_snapshot_ = snapshot_index_;
  stats_.snapshots_taken++;
  log::info("snapshot: index {} saved; wal.bin trimmed from {} to {} bytes", snapshot_index_,
            before, wal_->size());
}

void Store::close() {
  if (snapshot_pid_ > 0) {
    // A half-written snapshot.tmp is harmless: the next start deletes it.
    ::kill(snapshot_pid_, SIGKILL);
    ::waitpid(snapshot_pid_, nullptr, 0);
    snapshot_pid_ = -1;
  }
  // Whatever the policy, a clean stop leaves every logged write on disk.
  if (wal_) wal_->sync();
}

}  // namespace kv::server
