#include "cluster/preflight.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "net/socket_util.h"

namespace kv::cluster {
namespace {

std::string lock_path(const ClusterConfig& config) { return config.state_dir + "/supervisor.lock"; }

}  // namespace

Status ensure_state_dir(const ClusterConfig& config) {
  if (::mkdir(config.state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IOError(
        fmt::format("cannot create {}: {}", config.state_dir, std::strerror(errno)));
  }
  struct stat st {};
  if (::stat(config.state_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::IOError(fmt::format("{} is not a directory", config.state_dir));
  }
  return Status::OK();
}

Result<SupervisorLock> SupervisorLock::acquire(const ClusterConfig& config) {
  if (Status s = ensure_state_dir(config); !s.ok()) return s;
  std::string path = lock_path(config);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK)
      return Status::IOError(fmt::format("flock {}: {}", path, std::strerror(err)));
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Status::Busy(
        fmt::format("another kvcluster{} is already running on {} (see kvcluster status)",
                    pid.empty() ? "" : " (pid " + pid + ")", config.path));
  }
  SupervisorLock lock(fd);
  lock.write_pid();
  return lock;
}

bool SupervisorLock::is_held(const ClusterConfig& config) {
  int fd = ::open(lock_path(config).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

SupervisorLock::~SupervisorLock() {
  if (fd_ >= 0) ::close(fd_);
}

void SupervisorLock::write_pid() {
  std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd_, 0) == 0) {
    ssize_t ignored = ::pwrite(fd_, pid.data(), pid.size(), 0);
    (void)ignored;
  }
}

Status check_node(const NodeSpec& node) {
  auto fd = net::listen_tcp(node.host, node.port);
  if (!fd.ok()) return Status::Busy(fmt::format("{}: {}", node.name, fd.status().message()));
  ::close(*fd);

  struct stat st {};
  if (::stat(node.data_dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument(
        fmt::format("{}: data dir {} exists and is not a directory", node.name, node.data_dir));
  }
  std::string lock = node.data_dir + "/LOCK";
  int lfd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
  if (lfd >= 0) {
    bool locked = ::flock(lfd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    ::close(lfd);  // releases our probe lock, if we got it
    if (locked) {
      return Status::Busy(
          fmt::format("{}: data dir {} is locked by another process (a kvstore still running?)",
                      node.name, node.data_dir));
    }
  }
  return Status::OK();
}

bool has_node_data(const std::string& data_dir) {
  struct stat st {};
  for (const char* name : {"raft_state", "snapshot.bin"}) {
    if (::stat((data_dir + "/" + name).c_str(), &st) == 0) return true;
  }
  return ::stat((data_dir + "/wal.bin").c_str(), &st) == 0 && st.st_size > 0;
}

Status check_kvstore(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::NotFound(fmt::format("kvstore binary {}: {}", path, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode) || ::access(path.c_str(), X_OK) != 0) {
    return Status::InvalidArgument(
        fmt::format("kvstore binary {} is not an executable file", path));
  }
  return Status::OK();
}

std::vector<std::string> preflight(const ClusterConfig& config, const std::set<int>& local_ids) {
  std::vector<std::string> problems;
  if (Status s = check_kvstore(config.kvstore); !s.ok()) problems.push_back(s.message());
  for (const auto& node : config.nodes) {
    if (local_ids.count(node.id) == 0) continue;
    if (Status s = check_node(node); !s.ok()) problems.push_back(s.message());
  }
  return problems;
}

}  // namespace kv::cluster
