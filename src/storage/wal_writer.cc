#include "storage/wal_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/check.h"
#include "common/coding.h"
#include "common/crc32c.h"
#include "common/logging.h"

namespace kv::storage {
namespace {

constexpr size_t kCopyChunk = 1 << 20;

}  // namespace

Result<std::unique_ptr<WalWriter>> WalWriter::open(const std::string& path, uint64_t valid_size) {
  const std::string tmp = path + ".tmp";
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) {
    return io_error(tmp, "remove stale rewrite file", errno);
  }
  const bool existed = file_exists(path);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd.valid()) return io_error(path, "open for append", errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return io_error(path, "fstat", errno);
  if (static_cast<uint64_t>(st.st_size) < valid_size) {
    return Status::InvalidArgument(path + ": shorter than its recovered length " +
                                   std::to_string(valid_size));
  }
  // Cut the torn tail and make the cut durable before anything is appended: otherwise a
  // crash could leave new records followed by (or interleaved with) stale bytes.
  if (static_cast<uint64_t>(st.st_size) != valid_size) {
    if (::ftruncate(fd.get(), static_cast<off_t>(valid_size)) != 0) {
      return io_error(path, "truncate", errno);
    }
    if (::fsync(fd.get()) != 0) return io_error(path, "fsync", errno);
  }
  // A newly created log must survive a crash as a directory entry, too.
  if (!existed) {
    Status s = fsync_dir(dir_of(path));
    if (!s.ok()) return s;
  }
  return std::unique_ptr<WalWriter>(new WalWriter(path, std::move(fd), valid_size));
}

WalWriter::WalWriter(std::string path, UniqueFd fd, uint64_t size)
    : path_(std::move(path)), fd_(std::move(fd)), file_size_(size), synced_size_(size) {}

WalWriter::~WalWriter() {
  if (!buffer_.empty()) flush();
}

void WalWriter::append(uint64_t term, uint64_t index, RecordType type, std::string_view payload) {
  KV_CHECK(payload.size() <= kMaxPayload);
  KV_CHECK(!appended_ || index == last_index_ + 1);
  const size_t start = buffer_.size();
  buffer_.resize(start + kHeaderSize + payload.size());
  char* rec = buffer_.data() + start;
  coding::encode_fixed32(rec + kLengthOffset, static_cast<uint32_t>(payload.size()));
  rec[kTypeOffset] = static_cast<char>(type);
  coding::encode_fixed64(rec + kTermOffset, term);
  coding::encode_fixed64(rec + kIndexOffset, index);
  if (!payload.empty()) std::memcpy(rec + kHeaderSize, payload.data(), payload.size());
  const uint32_t crc =
      crc32c::value(rec + kLengthOffset, kHeaderSize - kLengthOffset + payload.size());
  coding::encode_fixed32(rec + kCrcOffset, crc);
  last_index_ = index;
  appended_ = true;
}

void WalWriter::flush() {
  if (buffer_.empty()) return;
  Status s = write_all(fd_.get(), buffer_.data(), buffer_.size(), path_);
  if (!s.ok()) log::fatal("WAL write failed, not retrying: {}", s.message());
  file_size_ += buffer_.size();
  buffer_.clear();
}

void WalWriter::sync() {
  flush();
  if (synced_size_ == file_size_) return;
  if (::fdatasync(fd_.get()) != 0) {
    log::fatal("WAL fdatasync failed, not retrying: {}: {}", path_, std::strerror(errno));
  }
  synced_size_ = file_size_;
}

Status WalWriter::rewrite_from(uint64_t offset) {
  KV_CHECK(buffer_.empty());
  KV_CHECK(offset <= file_size_);
  const std::string tmp = path_ + ".tmp";
  UniqueFd src(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src.valid()) return io_error(path_, "open for rewrite", errno);
  // The new file is opened for append up front and becomes fd_ after the rename (same
  // inode), so nothing can fail between the rename and resuming appends.
  UniqueFd dst(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644));
  if (!dst.valid()) return io_error(tmp, "create", errno);

  Status s;
  std::string chunk(kCopyChunk, '\0');
  for (uint64_t pos = offset; pos < file_size_ && s.ok();) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kCopyChunk, file_size_ - pos));
    s = pread_all(src.get(), chunk.data(), n, pos, path_);
    if (s.ok()) s = write_all(dst.get(), chunk.data(), n, tmp);
    pos += n;
  }
  // fsync the copy before the rename: a rename that reaches the disk before the data
  // would leave a hole-filled wal.bin after a crash.
  if (s.ok() && ::fsync(dst.get()) != 0) s = io_error(tmp, "fsync", errno);
  if (s.ok() && ::rename(tmp.c_str(), path_.c_str()) != 0) s = io_error(tmp, "rename", errno);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  fd_ = std::move(dst);
  file_size_ = synced_size_ = file_size_ - offset;
  // The rename is only durable once the directory is; failing that is an fsync failure.
  Status dir = fsync_dir(dir_of(path_));
  if (!dir.ok()) log::fatal("WAL rewrite: {}", dir.message());
  return Status::OK();
}

}  // namespace kv::storage
