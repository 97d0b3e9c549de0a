#include "storage/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kv::storage {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

int UniqueFd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::reset(int fd) {
  // close() errors are ignored on purpose: every durable write has already been fsynced
  // (and its failure handled) before a descriptor is dropped.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Status io_error(const std::string& path, std::string_view what, int err) {
  std::string msg = path;
  msg.append(": ").append(what).append(": ").append(std::strerror(err));
  return Status::IOError(std::move(msg));
}

std::string join_path(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (!out.empty() && out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

std::string dir_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Result<uint64_t> file_size(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return io_error(path, "stat", errno);
  }
  return static_cast<uint64_t>(st.st_size);
}

Status create_dirs(const std::string& dir) {
  if (dir.empty()) return Status::InvalidArgument("empty directory name");
  // Walk the prefixes "a", "a/b", "a/b/c" so every missing parent gets mode 0755.
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    std::string prefix = dir.substr(0, pos);
    if (prefix.empty() || prefix == "/") continue;
    if (::mkdir(prefix.c_str(), 0755) == 0) continue;
    int err = errno;
    struct stat st;
    if (err == EEXIST && ::stat(prefix.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
    return io_error(prefix, "cannot create directory", err == EEXIST ? ENOTDIR : err);
  }
  return Status::OK();
}

Status fsync_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return io_error(dir, "open directory", errno);
  if (::fsync(fd.get()) != 0) return io_error(dir, "fsync directory", errno);
  return Status::OK();
}

Status write_all(int fd, const char* data, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t done = ::write(fd, data, n);
    if (done < 0) {
      if (errno == EINTR) continue;
      return io_error(path, "write", errno);
    }
    data += done;
    n -= static_cast<size_t>(done);
  }
  return Status::OK();
}

Status pread_all(int fd, char* data, size_t n, uint64_t offset, const std::string& path) {
  while (n > 0) {
    ssize_t done = ::pread(fd, data, n, static_cast<off_t>(offset));
    if (done < 0) {
      if (errno == EINTR) continue;
      return io_error(path, "read", errno);
    }
    if (done == 0) return Status::Corruption(path + ": file shorter than expected");
    data += done;
    n -= static_cast<size_t>(done);
    offset += static_cast<uint64_t>(done);
  }
  return Status::OK();
}

}  // namespace kv::storage
