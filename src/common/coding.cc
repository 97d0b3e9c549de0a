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

Status decode_argv(std::string_view payload, std::vector<std::string>* argv) {
  auto corrupt = [argv](const char* what) {
    argv->clear();
    return Status::Corruption(what);
  };
  if (payload.size() < 4) return corrupt("argv payload shorter than its count");
  uint32_t count = decode_fixed32(payload.data());
  size_t pos = 4;
  // Each argument needs at least 4 bytes, so a count larger than that is corrupt; checking
  // first keeps a flipped count from reserving gigabytes.
  if (count > (payload.size() - pos) / 4) return corrupt("argv count exceeds payload");
  // The strings already in *argv are overwritten in place (assign keeps their buffers): a
  // caller decoding entry after entry into one vector allocates only when an argument
  // outgrows the one decoded before it in the same position.
  argv->resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    if (payload.size() - pos < 4) return corrupt("argv truncated");
    uint32_t len = decode_fixed32(payload.data() + pos);
    pos += 4;
    if (payload.size() - pos < len) return corrupt("argv argument truncated");
    (*argv)[i].assign(payload.data() + pos, len);
    pos += len;
  }
  if (pos != payload.size()) return corrupt("argv payload has trailing bytes");
  return Status::OK();
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
  auto corrupt = [commands](const char* what) {
    commands->clear();
    return Status::Corruption(what);
  };
  if (payload.size() < 4) return corrupt("batch payload shorter than its count");
  const uint32_t count = decode_fixed32(payload.data());
  size_t pos = 4;
  if (count > (payload.size() - pos) / 4) return corrupt("batch count exceeds payload");
  commands->reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    if (payload.size() - pos < 4) return corrupt("batch truncated");
    const uint32_t len = decode_fixed32(payload.data() + pos);
    pos += 4;
    if (payload.size() - pos < len) return corrupt("batch command truncated");
    commands->push_back(payload.substr(pos, len));
    pos += len;
  }
  if (pos != payload.size()) return corrupt("batch payload has trailing bytes");
  return Status::OK();
}

}  // namespace kv::coding
