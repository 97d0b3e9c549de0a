#include "storage/snapshot.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "common/coding.h"
#include "common/crc32c.h"
#include "common/logging.h"
#include "storage/file_util.h"

namespace kv::storage {
namespace {

constexpr size_t kBufferSize = 1 << 20;
constexpr size_t kCrcSize = 4;
constexpr size_t kMaxLen = std::numeric_limits<uint32_t>::max();

// Buffered appends to the snapshot temp file. Remembers the first error and drops every
// write after it, because the sink handed to `each` has no way to report failure.
class BufferedFile {
 public:
  BufferedFile(int fd, const std::string& path) : fd_(fd), path_(path) {
    buf_.reserve(kBufferSize);
  }

  void append(const char* data, size_t n) {
    if (!status_.ok()) return;
    if (buf_.size() + n > kBufferSize) flush();
    if (n >= kBufferSize) {
      if (status_.ok()) status_ = write_all(fd_, data, n, path_);
      return;
    }
    buf_.append(data, n);
  }

  void append_fixed32(uint32_t v) {
    char b[4];
    coding::encode_fixed32(b, v);
    append(b, 4);
  }

  void append_fixed64(uint64_t v) {
    char b[8];
    coding::encode_fixed64(b, v);
    append(b, 8);
  }

  void flush() {
    if (status_.ok() && !buf_.empty()) status_ = write_all(fd_, buf_.data(), buf_.size(), path_);
    buf_.clear();
  }

  void fail(Status s) {
    if (status_.ok()) status_ = std::move(s);
  }
  const Status& status() const { return status_; }

 private:
  const int fd_;
  const std::string& path_;
  std::string buf_;  // invariant: size() <= kBufferSize
  Status status_;
};

// Removes the temp file on every exit path until the rename commits it.
class TempFileGuard {
 public:
  explicit TempFileGuard(const std::string& path) : path_(path) {}
  ~TempFileGuard() {
    if (!committed_) ::unlink(path_.c_str());
  }
  void commit() { committed_ = true; }

 private:
  const std::string& path_;
  bool committed_ = false;
};

// CRC-32C of the first n bytes of fd, read back in chunks. Used because the pair count
// (part of the header the checksum covers) is only known after the pairs are written.
Status checksum_prefix(int fd, uint64_t n, const std::string& path, uint32_t* out) {
  std::string chunk(kBufferSize, '\0');
  uint32_t crc = 0;
  for (uint64_t pos = 0; pos < n;) {
    const size_t step = static_cast<size_t>(std::min<uint64_t>(kBufferSize, n - pos));
    Status s = pread_all(fd, chunk.data(), step, pos, path);
    if (!s.ok()) return s;
    crc = crc32c::extend(crc, chunk.data(), step);
    pos += step;
  }
  *out = crc;
  return Status::OK();
}

// Walks the `count` pairs in body[begin, n), calling fn (if set) for each. Corruption
// unless the pairs fill exactly that range.
Status parse_pairs(const char* body, size_t begin, size_t n, uint64_t count,
                   const std::string& path,
                   const std::function<void(std::string_view, std::string_view)>* fn) {
  size_t pos = begin;
  auto take = [&](std::string_view* out) {
    if (n - pos < 4) return false;
    const uint32_t len = coding::decode_fixed32(body + pos);
    pos += 4;
    if (n - pos < len) return false;
    *out = std::string_view(body + pos, len);
    pos += len;
    return true;
  };
  for (uint64_t i = 0; i < count; ++i) {
    const size_t pair_offset = pos;
    std::string_view key, value;
    if (!take(&key) || !take(&value)) {
      return Status::Corruption(path + ": pair " + std::to_string(i) + " of " +
                                std::to_string(count) + " at offset " +
                                std::to_string(pair_offset) + " runs past the end of the data");
    }
    if (fn) (*fn)(key, value);
  }
  if (pos != n) {
    return Status::Corruption(path + ": " + std::to_string(n - pos) +
                              " unexpected bytes after the last pair, at offset " +
                              std::to_string(pos));
  }
  return Status::OK();
}

// Checks a whole snapshot image in memory (a mapped file or bytes from a leader), either
// version: size, magic, checksum, membership length and pair structure. Fills *meta and
// *pairs_begin (offset of the first pair) only when all of it holds.
Status verify_image(std::string_view image, const std::string& name, SnapshotMeta* meta,
                    size_t* pairs_begin) {
  const auto truncated = [&] {
    return Status::Corruption(name + ": truncated (" + std::to_string(image.size()) + " bytes)");
  };
  if (image.size() < kSnapshotMagicSize + kCrcSize) return truncated();
  const char* data = image.data();
  bool v2;
  if (std::memcmp(data, kSnapshotMagic, kSnapshotMagicSize) == 0) {
    v2 = true;
  } else if (std::memcmp(data, kSnapshotMagicV1, kSnapshotMagicSize) == 0) {
    v2 = false;
  } else {
    return Status::Corruption(name + ": not a snapshot (bad magic)");
  }
  // Smallest image: the prefix, mlen (version 2) with nothing after it, count, checksum.
  if (image.size() < kSnapshotPrefixSize + (v2 ? 4 : 0) + 8 + kCrcSize) return truncated();
  const size_t body = image.size() - kCrcSize;
  if (crc32c::value(data, body) != coding::decode_fixed32(data + body)) {
    return Status::Corruption(name + ": checksum mismatch");
  }
  SnapshotMeta m;
  m.last_term = coding::decode_fixed64(data + kSnapshotMagicSize);
  m.last_index = coding::decode_fixed64(data + kSnapshotMagicSize + 8);
  size_t pos = kSnapshotPrefixSize;
  if (v2) {
    const uint32_t mlen = coding::decode_fixed32(data + pos);
    // The count must still fit after the blob: body - pos - 4 >= 8 holds by the size check.
    if (mlen > body - pos - 4 - 8) {
      return Status::Corruption(name + ": membership length " + std::to_string(mlen) +
                                " at offset " + std::to_string(pos) +
                                " runs past the end of the data");
    }
    pos += 4;
    m.membership.assign(data + pos, mlen);
    pos += mlen;
  }
  m.count = coding::decode_fixed64(data + pos);
  pos += 8;
  Status s = parse_pairs(data, pos, body, m.count, name, nullptr);
  if (!s.ok()) return s;
  *meta = std::move(m);
  *pairs_begin = pos;
  return Status::OK();
}

// A read-only private mapping of a whole file, unmapped on destruction.
class MappedFile {
 public:
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile() = default;
  ~MappedFile() {
    if (data_) ::munmap(data_, size_);
  }
  Status map(int fd, size_t size, const std::string& path) {
    if (size == 0) return Status::OK();  // nothing to map; data() stays null
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return io_error(path, "mmap", errno);
    data_ = p;
    size_ = size;
    ::madvise(p, size, MADV_SEQUENTIAL);
    return Status::OK();
  }
  const char* data() const { return static_cast<const char*>(data_); }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace

Status write_snapshot(const std::string& dir, uint64_t last_term, uint64_t last_index,
                      std::string_view membership,
                      const std::function<void(const SnapshotSink&)>& each) {
  const std::string tmp = join_path(dir, kSnapshotTempName);
  const std::string final_path = join_path(dir, kSnapshotFileName);
  if (membership.size() > kMaxLen) {
    return Status::InvalidArgument(tmp + ": membership longer than 4 GiB");
  }
  UniqueFd fd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return io_error(tmp, "create", errno);
  TempFileGuard guard(tmp);

  BufferedFile out(fd.get(), tmp);
  out.append(kSnapshotMagic, kSnapshotMagicSize);
  out.append_fixed64(last_term);
  out.append_fixed64(last_index);
  out.append_fixed32(static_cast<uint32_t>(membership.size()));
  out.append(membership.data(), membership.size());
  const uint64_t count_offset = kSnapshotPrefixSize + 4 + membership.size();
  out.append_fixed64(0);  // count, patched below once known
  uint64_t count = 0;
  uint64_t bytes = count_offset + 8;
  each([&](std::string_view key, std::string_view value) {
    if (key.size() > kMaxLen || value.size() > kMaxLen) {
      out.fail(Status::InvalidArgument(tmp + ": key or value longer than 4 GiB"));
      return;
    }
    out.append_fixed32(static_cast<uint32_t>(key.size()));
    out.append(key.data(), key.size());
    out.append_fixed32(static_cast<uint32_t>(value.size()));
    out.append(value.data(), value.size());
    ++count;
    bytes += 8 + key.size() + value.size();
  });
  out.flush();
  if (!out.status().ok()) return out.status();

  char count_bytes[8];
  coding::encode_fixed64(count_bytes, count);
  const ssize_t patched = ::pwrite(fd.get(), count_bytes, 8, static_cast<off_t>(count_offset));
  if (patched != 8) return io_error(tmp, "write count", patched < 0 ? errno : EIO);
  uint32_t crc = 0;
  Status s = checksum_prefix(fd.get(), bytes, tmp, &crc);
  if (!s.ok()) return s;
  char crc_bytes[kCrcSize];
  coding::encode_fixed32(crc_bytes, crc);
  s = write_all(fd.get(), crc_bytes, kCrcSize, tmp);
  if (!s.ok()) return s;

  // Data before name: the rename must not reach the disk ahead of the bytes it points at,
  // or a crash could leave a snapshot.bin with holes in place of a good one.
  if (::fsync(fd.get()) != 0) return io_error(tmp, "fsync", errno);
  fd.reset();
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) return io_error(tmp, "rename", errno);
  guard.commit();
  // Only once the directory is synced is the rename itself durable; the caller must not
  // drop the WAL prefix the snapshot replaces before this returns OK.
  return fsync_dir(dir);
}

Result<bool> load_snapshot(
    const std::string& dir, SnapshotMeta* meta,
    const std::function<void(std::string_view key, std::string_view value)>& fn) {
  const std::string tmp = join_path(dir, kSnapshotTempName);
  if (::unlink(tmp.c_str()) == 0) {
    log::warn("removed {}: a snapshot write was interrupted; using the previous snapshot", tmp);
  } else if (errno != ENOENT) {
    return io_error(tmp, "remove", errno);
  }

  const std::string path = join_path(dir, kSnapshotFileName);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return false;
    return io_error(path, "open", errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return io_error(path, "fstat", errno);
  const size_t size = static_cast<size_t>(st.st_size);
  MappedFile file;
  Status s = file.map(fd.get(), size, path);
  if (!s.ok()) return s;
  // Two passes over the mapping: verification proves the structure, so the second pass,
  // which applies pairs, cannot stop halfway and leave a partly loaded key space.
  SnapshotMeta m;
  size_t pairs_begin = 0;
  s = verify_image(std::string_view(file.data(), size), path, &m, &pairs_begin);
  if (!s.ok()) return s;
  s = parse_pairs(file.data(), pairs_begin, size - kCrcSize, m.count, path, &fn);
  if (!s.ok()) return s;
  *meta = std::move(m);
  return true;
}

Result<std::string> read_snapshot_image(const std::string& dir, SnapshotMeta* meta) {
  const std::string path = join_path(dir, kSnapshotFileName);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Status::NotFound(path + ": no snapshot");
    return io_error(path, "open", errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return io_error(path, "fstat", errno);
  std::string image(static_cast<size_t>(st.st_size), '\0');
  Status s = pread_all(fd.get(), image.data(), image.size(), 0, path);
  if (!s.ok()) return s;
  size_t pairs_begin = 0;
  s = verify_image(image, path, meta, &pairs_begin);
  if (!s.ok()) return s;
  return image;
}

Status install_snapshot_image(const std::string& dir, std::string_view image, SnapshotMeta* meta) {
  size_t pairs_begin = 0;
  Status s = verify_image(image, "snapshot from the leader", meta, &pairs_begin);
  if (!s.ok()) return s;
  const std::string tmp = join_path(dir, kSnapshotTempName);
  const std::string path = join_path(dir, kSnapshotFileName);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return io_error(tmp, "create", errno);
  s = write_all(fd.get(), image.data(), image.size(), tmp);
  if (s.ok() && ::fsync(fd.get()) != 0) s = io_error(tmp, "fsync", errno);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = io_error(tmp, "rename", errno);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return fsync_dir(dir);
}

}  // namespace kv::storage
