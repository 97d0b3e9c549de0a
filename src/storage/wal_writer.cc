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
constexpr size_t kScanChunk = 1 << 20;

// Walks the record headers of path's first `size` bytes and appends each record's start
// offset to *starts; *first_index receives the first record's index (unchanged if none).
// Reads in kScanChunk windows and jumps over payloads that end past the window.
Status index_record_starts(const std::string& path, uint64_t size, uint64_t* first_index,
                           std::vector<uint64_t>* starts) {
  if (size == 0) return Status::OK();
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return io_error(path, "open to index records", errno);
  std::string window;
  uint64_t window_off = 0;  // window holds file bytes [window_off, window_off + window.size())
  uint64_t expected = 0;
  for (uint64_t off = 0; off < size;) {
    if (size - off < kHeaderSize) break;
    if (off < window_off || off + kHeaderSize > window_off + window.size()) {
      window.resize(static_cast<size_t>(std::min<uint64_t>(kScanChunk, size - off)));
      window_off = off;
      Status s = pread_all(fd.get(), window.data(), window.size(), off, path);
      if (!s.ok()) return s;
    }
    const char* header = window.data() + (off - window_off);
    const uint64_t len = coding::decode_fixed32(header + kLengthOffset);
    const uint64_t index = coding::decode_fixed64(header + kIndexOffset);
    if (starts->empty()) {
      *first_index = index;
    } else if (index != expected) {
      return Status::Corruption(path + ": record at offset " + std::to_string(off) + " has index " +
                                std::to_string(index) + ", expected " + std::to_string(expected));
    }
    if (len > size - off - kHeaderSize) break;
    starts->push_back(off);
    expected = index + 1;
    off += encoded_record_size(len);
    if (off == size) return Status::OK();
  }
  return Status::InvalidArgument(path + ": recovered length " + std::to_string(size) +
                                 " is not the end of a record");
}

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
  // Index the kept records before cutting anything, so a valid_size that is not a record
  // boundary is refused with the file untouched.
  uint64_t first_index = 0;
  std::vector<uint64_t> starts;
  Status indexed = index_record_starts(path, valid_size, &first_index, &starts);
  if (!indexed.ok()) return indexed;
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
  return std::unique_ptr<WalWriter>(
      new WalWriter(path, std::move(fd), valid_size, first_index, std::move(starts)));
}

WalWriter::WalWriter(std::string path, UniqueFd fd, uint64_t size, uint64_t first_index,
                     std::vector<uint64_t> record_starts)
    : path_(std::move(path)),
      fd_(std::move(fd)),
      file_size_(size),
      synced_size_(size),
      first_index_(first_index),
      record_starts_(std::move(record_starts)) {}

WalWriter::~WalWriter() {
  if (!buffer_.empty()) flush();
}

void WalWriter::append(uint64_t term, uint64_t index, RecordType type, std::string_view payload) {
  KV_CHECK(payload.size() <= kMaxPayload);
  if (index_pinned_) {
    KV_CHECK(index == first_index_ + record_starts_.size());
  } else if (record_starts_.empty() || index != last_index() + 1) {
    // A fresh writer's first record: it starts the log, or (on a non-empty file, out of
    // sequence) starts a new run of consecutive indexes, the only one truncate_from knows.
    record_starts_.clear();
    first_index_ = index;
  }
  index_pinned_ = true;
  record_starts_.push_back(size());
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
  // A record boundary: a record's start or the end of the log (or, after an out-of-sequence
  // first append restarted the index, anywhere before the indexed run).
  KV_CHECK(offset == file_size_ || record_starts_.empty() || offset < record_starts_.front() ||
           std::binary_search(record_starts_.begin(), record_starts_.end(), offset));
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
  drop_starts_before(offset);
  // The rename is only durable once the directory is; failing that is an fsync failure.
  Status dir = fsync_dir(dir_of(path_));
  if (!dir.ok()) log::fatal("WAL rewrite: {}", dir.message());
  return Status::OK();
}

Status WalWriter::reset(uint64_t next_index) {
  Status s = rewrite_from(file_size_);
  if (!s.ok()) return s;
  first_index_ = next_index;
  index_pinned_ = true;
  return Status::OK();
}

void WalWriter::drop_starts_before(uint64_t offset) {
  const auto kept = std::lower_bound(record_starts_.begin(), record_starts_.end(), offset);
  first_index_ += static_cast<uint64_t>(kept - record_starts_.begin());
  record_starts_.erase(record_starts_.begin(), kept);
  for (uint64_t& start : record_starts_) start -= offset;
}

Status WalWriter::truncate_from(uint64_t index) {
  if (record_starts_.empty() && first_index_ == 0) {  // nothing known yet: index starts the log
    first_index_ = index;
    index_pinned_ = true;
    return Status::OK();
  }
  const uint64_t next = first_index_ + record_starts_.size();
  if (index < first_index_ || index > next) {
    return Status::InvalidArgument(path_ + ": cannot truncate from index " + std::to_string(index) +
                                   ": the log holds [" + std::to_string(first_index_) + ", " +
                                   std::to_string(next) + ")");
  }
  index_pinned_ = true;
  if (index == next) return Status::OK();
  const uint64_t cut = record_starts_[index - first_index_];
  if (cut >= file_size_) {
    buffer_.resize(cut - file_size_);  // only unflushed records go: no syscall needed
  } else {
    // The cut must be durable before Raft acts on it (e.g. acknowledges new entries at
    // these indexes): a crash must not resurrect the removed suffix behind them.
    if (::ftruncate(fd_.get(), static_cast<off_t>(cut)) != 0) {
      return io_error(path_, "truncate", errno);
    }
    buffer_.clear();
    file_size_ = cut;
    if (::fdatasync(fd_.get()) != 0) {
      log::fatal("WAL fdatasync after truncate failed, not retrying: {}: {}", path_,
                 std::strerror(errno));
    }
    synced_size_ = cut;  // fdatasync covered every byte left in the file
  }
  record_starts_.resize(static_cast<size_t>(index - first_index_));
  return Status::OK();
}

uint64_t WalWriter::last_index() const {
  if (!record_starts_.empty()) return first_index_ + record_starts_.size() - 1;
  return first_index_ == 0 ? 0 : first_index_ - 1;
}

uint64_t WalWriter::offset_of(uint64_t index) const {
  KV_CHECK(!record_starts_.empty() || index_pinned_);
  KV_CHECK(index >= first_index_ && index - first_index_ <= record_starts_.size());
  const uint64_t k = index - first_index_;
  return k == record_starts_.size() ? size() : record_starts_[static_cast<size_t>(k)];
}

}  // namespace kv::storage
