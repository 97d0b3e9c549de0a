#include "storage/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace kv::storage {
namespace {

constexpr char kLockFileName[] = "LOCK";

// The pid the current holder wrote into the lock file, or "unknown".
std::string holder_pid(int fd) {
  char buf[32];
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "unknown";
  std::string pid(buf, static_cast<size_t>(n));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) return "unknown";
  return pid;
}

}  // namespace

Result<DataDirLock> DataDirLock::acquire(const std::string& dir) {
  Status s = create_dirs(dir);
  if (!s.ok()) return s;
  const std::string path = join_path(dir, kLockFileName);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return io_error(path, "open", errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status::Busy("data dir " + dir + " is locked by another process (pid " +
                          holder_pid(fd.get()) + ")");
    }
    return io_error(path, "flock", errno);
  }
  // Only the holder writes the pid, and only after winning the lock, so the file never
  // names a process that lost the race.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0) return io_error(path, "truncate", errno);
  s = write_all(fd.get(), pid.data(), pid.size(), path);  // fresh descriptor: offset 0
  if (!s.ok()) return s;
  return DataDirLock(dir, std::move(fd));
}

}  // namespace kv::storage
