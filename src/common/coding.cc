#include "common/coding.h"

namespace kv::coding {

void encode_argv(const std::vector<std::string>& argv, std::string* dst) {
  size_t total = 4;
  for (const auto& a : argv) total += 4 + a.size();
  dst->reserve(dst->size() + total);
  put_fixed32(dst, static_cast<uint32_t>(argv.size()));
  for (const auto& a : argv) {
    put_fixed32(dst, static_cast<uint32_t>(a.size()));
    dst->append(a);
  }
}

namespace {

// The framing argv and batch payloads share: [count u32] then count x ([len u32][bytes]).
// Calls begin(count) once the count is known to fit the payload, then part(i, bytes) for each
// part in order. Corruption names the payload kind ("argv", "batch") and its parts.
template <typename Begin, typename Part>
Status walk_parts(std::string_view payload, const char* kind, const char* part_name, Begin begin,
                  Part part) {
  auto corrupt = [kind](std::string what) { return Status::Corruption(std::string(kind) + " " + what); };
  if (payload.size() < 4) return corrupt("payload shorter than its count");
  const uint32_t count = decode_fixed32(payload.data());
  size_t pos = 4;
  // Each part needs at least 4 bytes, so a count larger than that is corrupt; checking first
  // keeps a flipped count from reserving gigabytes.
  if (count > (payload.size() - pos) / 4) return corrupt("count exceeds payload");
  begin(count);
  for (uint32_t i = 0; i < count; ++i) {
    if (payload.size() - pos < 4) return corrupt("truncated");
    const uint32_t len = decode_fixed32(payload.data() + pos);
    pos += 4;
    if (payload.size() - pos < len) return corrupt(std::string(part_name) + " truncated");
    part(i, payload.substr(pos, len));
    pos += len;
  }
  if (pos != payload.size()) return corrupt("payload has trailing bytes");
  return Status::OK();
}

}  // namespace

Status decode_argv(std::string_view payload, std::vector<std::string>* argv) {
  // The strings already in *argv are overwritten in place (assign keeps their buffers): a
  // caller decoding entry after entry into one vector allocates only when an argument
  // outgrows the one decoded before it in the same position.
  Status s = walk_parts(
      payload, "argv", "argument", [argv](uint32_t count) { argv->resize(count); },
      [argv](uint32_t i, std::string_view bytes) { (*argv)[i].assign(bytes.data(), bytes.size()); });
  if (!s.ok()) argv->clear();
  return s;
}

std::string_view argv_at(std::string_view payload, uint32_t i) {
  if (payload.size() < 4 || decode_fixed32(payload.data()) <= i) return {};
  size_t pos = 4;
  for (uint32_t k = 0;; ++k) {
    if (payload.size() - pos < 4) return {};
    const uint32_t len = decode_fixed32(payload.data() + pos);
    pos += 4;
    if (payload.size() - pos < len) return {};
    if (k == i) return payload.substr(pos, len);
    pos += len;
  }
}

void start_batch(std::string* dst) {
  dst->clear();
  put_fixed32(dst, 0);
}

void append_to_batch(const std::vector<std::string>& argv, std::string* batch) {
  const size_t len_at = batch->size();
  put_fixed32(batch, 0);
  encode_argv(argv, batch);
  encode_fixed32(batch->data() + len_at, static_cast<uint32_t>(batch->size() - len_at - 4));
  encode_fixed32(batch->data(), batch_count(*batch) + 1);
}

uint32_t batch_count(std::string_view batch) { return decode_fixed32(batch.data()); }

Status split_batch(std::string_view payload, std::vector<std::string_view>* commands) {
  commands->clear();
  Status s = walk_parts(
      payload, "batch", "command", [commands](uint32_t count) { commands->reserve(count); },
      [commands](uint32_t, std::string_view bytes) { commands->push_back(bytes); });
  if (!s.ok()) commands->clear();
  return s;
}

}  // namespace kv::coding
