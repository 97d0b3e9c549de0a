// DataDirLock: proof that this process owns a data dir. Holds flock(LOCK_EX | LOCK_NB) on
// dir/LOCK for the life of the object, so a second kvstore on the same dir refuses to
// start instead of corrupting the WAL. Move-only; the lock is released (the descriptor
// closed) on destruction. Not thread-safe; created once in main.
#pragma once

#include <string>

#include "common/status.h"
#include "storage/file_util.h"

namespace kv::storage {

class DataDirLock {
 public:
  // Creates dir with parents if missing (mode 0755), locks dir/LOCK and writes this
  // process's pid into it (for the error message of the next one). Errors:
  // Busy("data dir <dir> is locked by another process (pid N)") when held, even by another
  // DataDirLock in this process (flock locks belong to the open file description);
  // IOError naming the path and strerror when the dir or file cannot be created or opened.
  static Result<DataDirLock> acquire(const std::string& dir);

  DataDirLock(DataDirLock&&) noexcept = default;
  DataDirLock& operator=(DataDirLock&&) noexcept = default;

  const std::string& dir() const { return dir_; }

 private:
  DataDirLock(std::string dir, UniqueFd fd) : dir_(std::move(dir)), fd_(std::move(fd)) {}

  std::string dir_;
  UniqueFd fd_;  // holds the flock while valid; closing it releases the lock
};

}  // namespace kv::storage
