#include "storage/wal_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "common/coding.h"
#include "common/crc32c.h"
#include "storage/file_util.h"

namespace kv::storage {
namespace {

constexpr size_t kChunk = 1 << 20;

struct Header {
  uint32_t crc;
  uint32_t len;
  uint8_t type;
  uint64_t term;
  uint64_t index;
};

Header decode_header(const char* p) {
  return Header{coding::decode_fixed32(p + kCrcOffset), coding::decode_fixed32(p + kLengthOffset),
                static_cast<uint8_t>(p[kTypeOffset]), coding::decode_fixed64(p + kTermOffset),
                coding::decode_fixed64(p + kIndexOffset)};
}

// A read-only window over the log file, refilled from disk in chunks as the reader moves,
// so memory stays near max(kChunk, largest record) whatever the file size.
class LogFile {
 public:
  LogFile(const std::string& path, int fd, uint64_t size) : path_(path), fd_(fd), size_(size) {}

  uint64_t size() const { return size_; }

  // Points *out at the file bytes [off, off + n). REQUIRES: off + n <= size().
  // The pointer stays valid until the next view() call. If `available` is set it receives
  // how many bytes from off on are readable through *out (at least n).
  Status view(uint64_t off, size_t n, const char** out, size_t* available = nullptr) {
    if (off < window_off_ || off + n > window_off_ + window_.size()) {
      const uint64_t want = std::max<uint64_t>(n, std::min<uint64_t>(kChunk, size_ - off));
      window_.resize(static_cast<size_t>(want));
      window_off_ = off;
      Status s = pread_all(fd_, window_.data(), window_.size(), off, path_);
      if (!s.ok()) {
        window_.clear();
        return s;
      }
    }
    *out = window_.data() + (off - window_off_);
    if (available) *available = static_cast<size_t>(window_off_ + window_.size() - off);
    return Status::OK();
  }

  // CRC-32C of [off, off + n) without disturbing the window. REQUIRES: off + n <= size().
  Status crc(uint64_t off, uint64_t n, uint32_t* out) {
    if (off >= window_off_ && off + n <= window_off_ + window_.size()) {
      *out = crc32c::value(window_.data() + (off - window_off_), static_cast<size_t>(n));
      return Status::OK();
    }
    scratch_.resize(kChunk);
    uint32_t crc = 0;
    while (n > 0) {
      const size_t step = static_cast<size_t>(std::min<uint64_t>(n, kChunk));
      Status s = pread_all(fd_, scratch_.data(), step, off, path_);
      if (!s.ok()) return s;
      crc = crc32c::extend(crc, scratch_.data(), step);
      off += step;
      n -= step;
    }
    *out = crc;
    return Status::OK();
  }

 private:
  const std::string& path_;
  const int fd_;
  const uint64_t size_;
  std::string window_;  // holds file bytes [window_off_, window_off_ + window_.size())
  uint64_t window_off_ = 0;
  std::string scratch_;  // for checksums of candidates outside the window
};

// Why the record header at `off` cannot start a valid record, or "" if it might (its
// checksum is still unchecked). `remaining` = bytes from off to the end of the file.
std::string header_problem(const Header& h, uint64_t remaining) {
  if (!is_known_record_type(h.type)) return "unknown record type " + std::to_string(h.type);
  if (h.len > kMaxPayload) return "impossible length " + std::to_string(h.len);
  if (h.len > remaining - kHeaderSize) {
    return "length " + std::to_string(h.len) + " runs past the end of the file";
  }
  return "";
}

// Whether a complete, checksummed record starts at `off`; fills *h when it does.
Status valid_record_at(LogFile& file, uint64_t off, Header* h, bool* valid) {
  *valid = false;
  if (file.size() - off < kHeaderSize) return Status::OK();
  const char* p = nullptr;
  Status s = file.view(off, kHeaderSize, &p);
  if (!s.ok()) return s;
  *h = decode_header(p);
  if (!header_problem(*h, file.size() - off).empty()) return Status::OK();
  uint32_t actual = 0;
  s = file.crc(off + kLengthOffset, kHeaderSize - kLengthOffset + h->len, &actual);
  if (!s.ok()) return s;
  *valid = (actual == h->crc);
  return Status::OK();
}

// Looks for a valid record starting after the bad one at `bad_off` and, if found, returns
// how many bytes of consecutive valid records start there (0: none, a torn tail).
//
// The scan tries every byte position, so it must reject almost all of them without a
// checksum, whose cost grows with the candidate's length. The cheap checks: a known type,
// a length within kMaxPayload and the file, and, when a good record came before, an index
// in (last_index, last_index + 1 + (p - bad_off) / kHeaderSize]. That upper bound is exact,
// not a heuristic: the writer appends records back to back with consecutive indexes, so
// the records between last_index and a real record at p all lie in [bad_off, p), each at
// least kHeaderSize bytes. It turns random garbage (a random 64-bit index) into almost no
// checksum work; without a good record before the damage only the other checks apply.
Status valid_bytes_after(LogFile& file, uint64_t bad_off, std::optional<uint64_t> last_index,
                         uint64_t* valid_after) {
  *valid_after = 0;
  const uint64_t size = file.size();
  uint64_t p = bad_off + 1;
  while (p + kHeaderSize <= size) {
    const char* window = nullptr;
    size_t available = 0;
    Status s = file.view(p, kHeaderSize, &window, &available);
    if (!s.ok()) return s;
    // Every position whose whole header lies inside the current window.
    const char* const last_start = window + (available - kHeaderSize);
    for (const char* b = window; b <= last_start; ++b, ++p) {
      if (!is_known_record_type(static_cast<uint8_t>(b[kTypeOffset]))) continue;
      const Header h = decode_header(b);
      if (h.len > kMaxPayload || h.len > size - p - kHeaderSize) continue;
      if (last_index &&
          (h.index <= *last_index || h.index - *last_index - 1 > (p - bad_off) / kHeaderSize)) {
        continue;
      }
      uint32_t actual = 0;
      s = file.crc(p + kLengthOffset, kHeaderSize - kLengthOffset + h.len, &actual);
      if (!s.ok()) return s;
      if (actual != h.crc) continue;
      // Found one: measure the run of valid records from here for the error message.
      uint64_t q = p;
      Header next = h;
      bool valid = true;
      while (valid) {
        q += kHeaderSize + next.len;
        s = valid_record_at(file, q, &next, &valid);
        if (!s.ok()) return s;
      }
      *valid_after = q - p;
      return Status::OK();
    }
  }
  return Status::OK();
}

// Reads one record at `off`: sets *problem (empty if the record is good) and fills *rec.
Status read_record(LogFile& file, uint64_t off, Record* rec, std::string* problem) {
  const uint64_t remaining = file.size() - off;
  if (remaining < kHeaderSize) {
    *problem = "truncated header";
    return Status::OK();
  }
  const char* p = nullptr;
  Status s = file.view(off, kHeaderSize, &p);
  if (!s.ok()) return s;
  const Header h = decode_header(p);
  *problem = header_problem(h, remaining);
  if (!problem->empty()) return Status::OK();
  s = file.view(off, kHeaderSize + h.len, &p);
  if (!s.ok()) return s;
  if (crc32c::value(p + kLengthOffset, kHeaderSize - kLengthOffset + h.len) != h.crc) {
    *problem = "checksum mismatch";
    return Status::OK();
  }
  rec->term = h.term;
  rec->index = h.index;
  rec->type = static_cast<RecordType>(h.type);
  rec->payload.assign(p + kHeaderSize, h.len);
  return Status::OK();
}

}  // namespace

Status read_wal(const std::string& path, const std::function<Status(const Record&)>& fn,
                WalRecoveryInfo* info) {
  *info = WalRecoveryInfo{};
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Status::OK();
    return io_error(path, "open", errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return io_error(path, "fstat", errno);
  LogFile file(path, fd.get(), static_cast<uint64_t>(st.st_size));
  info->file_bytes = file.size();

  Record rec;
  std::string problem;
  uint64_t off = 0;
  while (off < file.size()) {
    Status s = read_record(file, off, &rec, &problem);
    if (!s.ok()) return s;
    if (!problem.empty()) {
      std::optional<uint64_t> last_index;
      if (info->records > 0) last_index = info->last_index;
      uint64_t valid_after;
      s = valid_bytes_after(file, off, last_index, &valid_after);
      if (!s.ok()) return s;
      if (valid_after > 0) {
        return Status::Corruption(path + ": bad record at offset " + std::to_string(off) + " (" +
                                  problem + "); " + std::to_string(valid_after) +
                                  " bytes of valid records follow");
      }
      info->torn_tail = true;
      break;
    }
    if (info->records > 0 && rec.index != info->last_index + 1) {
      return Status::Corruption(path + ": record at offset " + std::to_string(off) + " has index " +
                                std::to_string(rec.index) + ", expected " +
                                std::to_string(info->last_index + 1));
    }
    off += encoded_record_size(rec.payload.size());
    info->valid_bytes = off;
    info->records++;
    info->last_term = rec.term;
    info->last_index = rec.index;
    s = fn(rec);
    if (!s.ok()) return s;
  }
  return Status::OK();
}

}  // namespace kv::storage
