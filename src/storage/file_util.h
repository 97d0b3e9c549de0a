// Small POSIX file helpers shared by the WAL, snapshot and data-dir lock code.
// Everything here is a plain syscall wrapper: no logging, no locks, no global state, so
// the helpers are safe in a fork()ed snapshot child and from any thread.
// Errors come back as IOError naming the path and strerror(errno).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kv::storage {

// Owns one file descriptor and closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release();
  void reset(int fd = -1);

 private:
  int fd_ = -1;  // -1 when empty
};

// IOError "<path>: <what>: <strerror(err)>".
Status io_error(const std::string& path, std::string_view what, int err);

std::string join_path(std::string_view dir, std::string_view name);
// The directory holding `path` ("." for a bare file name).
std::string dir_of(const std::string& path);

bool file_exists(const std::string& path);
// NotFound if missing, IOError on other failures.
Result<uint64_t> file_size(const std::string& path);

// Creates dir and any missing parents with mode 0755; OK if it already is a directory.
Status create_dirs(const std::string& dir);
// fsync()s a directory so that creations, renames and unlinks inside it are durable.
Status fsync_dir(const std::string& dir);

// write(2)s all n bytes, retrying short writes and EINTR. `path` only names the error.
Status write_all(int fd, const char* data, size_t n, const std::string& path);
// pread(2)s exactly n bytes at offset; Corruption if the file ends first.
Status pread_all(int fd, char* data, size_t n, uint64_t offset, const std::string& path);

}  // namespace kv::storage
