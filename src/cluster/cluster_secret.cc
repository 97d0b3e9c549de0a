#include "cluster/cluster_secret.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kv::cluster {
namespace {

constexpr size_t kRandomBytes = 16;     // 32 hex characters
constexpr size_t kMaxFileBytes = 4096;  // a secret file larger than this is not one of ours

std::string errno_text(int err) { return std::strerror(err); }

// Reads all of fd (up to limit + 1 bytes, so the caller can tell "too large").
Result<std::string> read_fd(int fd, size_t limit, const std::string& path) {
  std::string data;
  char buf[1024];
  while (data.size() <= limit) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError(fmt::format("cannot read {}: {}", path, errno_text(errno)));
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError(fmt::format("cannot write {}: {}", path, errno_text(errno)));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Result<std::string> read_secret_file(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return Status::IOError(fmt::format("cannot stat {}: {}", path, errno_text(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument(fmt::format("{} is not a regular file", path));
  }
  if ((st.st_mode & 077) != 0) {
    return Status::InvalidArgument(
        fmt::format("{} can be read by other users (mode {:04o}): chmod 600 {}", path,
                    st.st_mode & 07777, path));
  }
  auto data = read_fd(fd, kMaxFileBytes, path);
  if (!data.ok()) return data.status();
  std::string secret = std::move(data).value();
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  std::string problem = secret.size() > kMaxFileBytes ? "is too large" : secret_problem(secret);
  if (!problem.empty()) {
    return Status::InvalidArgument(fmt::format(
        "{}: the cluster secret {} (delete the file to generate a new one; every node must then "
        "restart)",
        path, problem));
  }
  return secret;
}

// Writes a new secret to path atomically: a crash leaves either no file or the whole one.
Status create_secret_file(const std::string& state_dir, const std::string& path,
                          const std::string& secret) {
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // a leftover of a crash; O_EXCL below then creates it with our mode
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return Status::IOError(fmt::format("cannot create {}: {}", tmp, errno_text(errno)));
  }
  Status s = write_all(fd, secret + "\n", tmp);
  if (s.ok() && ::fsync(fd) != 0) {
    s = Status::IOError(fmt::format("fsync {}: {}", tmp, errno_text(errno)));
  }
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = Status::IOError(fmt::format("cannot rename {} to {}: {}", tmp, path, errno_text(errno)));
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  // The rename is durable only once the directory is.
  int dir = ::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
  return Status::OK();
}

}  // namespace

std::string secret_problem(std::string_view text) {
  if (text.empty()) return "is empty";
  for (char ch : text) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
      return "contains a control character (NUL, newline, tab, ...)";
    }
  }
  return "";
}

Result<std::string> random_secret() {
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status::IOError(fmt::format("cannot open /dev/urandom: {}", errno_text(errno)));
  unsigned char bytes[kRandomBytes];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    ssize_t n = ::read(fd, bytes + got, sizeof(bytes) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      ::close(fd);
      return Status::IOError(fmt::format("cannot read /dev/urandom: {}", errno_text(err)));
    }
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : bytes) {
    hex += kHex[b >> 4];
    hex += kHex[b & 0xf];
  }
  return hex;
}

std::string secret_file_path(const std::string& state_dir) {
  return state_dir + "/" + kSecretFileName;
}

Result<std::string> load_or_create_secret(const std::string& state_dir) {
  std::string path = secret_file_path(state_dir);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0) {
    auto secret = read_secret_file(fd, path);
    ::close(fd);
    return secret;
  }
  if (errno == ELOOP) {
    return Status::InvalidArgument(fmt::format("{} is a symbolic link; refusing it", path));
  }
  if (errno != ENOENT) {
    return Status::IOError(fmt::format("cannot open {}: {}", path, errno_text(errno)));
  }
  auto secret = random_secret();
  if (!secret.ok()) return secret.status();
  if (Status s = create_secret_file(state_dir, path, *secret); !s.ok()) return s;
  return secret;
}

Result<std::string> cluster_secret(const ClusterConfig& config) {
  if (config.secret) return *config.secret;
  return load_or_create_secret(config.state_dir);
}

Status check_secret_shared(const ClusterConfig& config, const std::set<int>& local_ids) {
  if (!config.raft() || config.secret) return Status::OK();
  std::string remote;
  for (const auto& n : config.nodes) {
    if (local_ids.count(n.id) == 0) remote += (remote.empty() ? "" : ", ") + n.name;
  }
  if (remote.empty()) return Status::OK();
  std::string path = secret_file_path(config.state_dir);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) return Status::OK();
  return Status::InvalidArgument(fmt::format(
      "{}: secret: {} run{} on other machines, whose kvcluster must give the nodes the same "
      "secret: set \"secret\" in cluster.json (or copy {} from the machine that made it)",
      config.path, remote, remote.find(',') == std::string::npos ? "s" : "", path));
}

}  // namespace kv::cluster
