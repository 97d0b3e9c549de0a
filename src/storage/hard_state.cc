#include "storage/hard_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/coding.h"
#include "common/crc32c.h"
#include "common/logging.h"
#include "storage/file_util.h"

namespace kv::storage {
namespace {

constexpr size_t kStateTermOffset = kHardStateMagicSize;
constexpr size_t kStateVotedForOffset = kStateTermOffset + 8;
constexpr size_t kStateCrcOffset = kStateVotedForOffset + 8;

}  // namespace

Status save_hard_state(const std::string& dir, const HardState& state) {
  char buf[kHardStateSize];
  std::memcpy(buf, kHardStateMagic, kHardStateMagicSize);
  coding::encode_fixed64(buf + kStateTermOffset, state.term);
  coding::encode_fixed64(buf + kStateVotedForOffset, state.voted_for);
  coding::encode_fixed32(buf + kStateCrcOffset, crc32c::value(buf, kStateCrcOffset));

  const std::string tmp = join_path(dir, kHardStateTempName);
  const std::string path = join_path(dir, kHardStateFileName);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return io_error(tmp, "create", errno);
  Status s = write_all(fd.get(), buf, sizeof(buf), tmp);
  // Data before name: a rename reaching the disk before the bytes could leave an empty
  // raft_state after a crash, losing a vote that was already answered.
  if (s.ok() && ::fsync(fd.get()) != 0) s = io_error(tmp, "fsync", errno);
  fd.reset();
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = io_error(tmp, "rename", errno);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  // The new state is durable only once the rename is.
  return fsync_dir(dir);
}

Result<std::optional<HardState>> load_hard_state(const std::string& dir) {
  const std::string tmp = join_path(dir, kHardStateTempName);
  if (::unlink(tmp.c_str()) == 0) {
    log::warn("removed {}: a save of the Raft term/vote was interrupted; using the previous one",
              tmp);
  } else if (errno != ENOENT) {
    return io_error(tmp, "remove", errno);
  }

  const std::string path = join_path(dir, kHardStateFileName);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<HardState>();
    return io_error(path, "open", errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return io_error(path, "fstat", errno);
  if (static_cast<uint64_t>(st.st_size) != kHardStateSize) {
    return Status::Corruption(path + ": " + std::to_string(st.st_size) + " bytes, expected " +
                              std::to_string(kHardStateSize));
  }
  char buf[kHardStateSize] = {};
  Status s = pread_all(fd.get(), buf, sizeof(buf), 0, path);
  if (!s.ok()) return s;
  if (std::memcmp(buf, kHardStateMagic, kHardStateMagicSize) != 0) {
    return Status::Corruption(path + ": not a Raft state file (bad magic)");
  }
  if (crc32c::value(buf, kStateCrcOffset) != coding::decode_fixed32(buf + kStateCrcOffset)) {
    return Status::Corruption(path + ": checksum mismatch");
  }
  HardState state;
  state.term = coding::decode_fixed64(buf + kStateTermOffset);
  state.voted_for = coding::decode_fixed64(buf + kStateVotedForOffset);
  return std::optional<HardState>(state);
}

}  // namespace kv::storage
