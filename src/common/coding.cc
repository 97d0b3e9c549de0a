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
  argv->clear();
  if (payload.size() < 4) return Status::Corruption("argv payload shorter than its count");
  uint32_t count = decode_fixed32(payload.data());
  size_t pos = 4;
  // Each argument needs at least 4 bytes, so a count larger than that is corrupt; checking
  // first keeps a flipped count from reserving gigabytes.
  if (count > (payload.size() - pos) / 4) return Status::Corruption("argv count exceeds payload");
  argv->reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    if (payload.size() - pos < 4) return Status::Corruption("argv truncated");
    uint32_t len = decode_fixed32(payload.data() + pos);
    pos += 4;
    if (payload.size() - pos < len) return Status::Corruption("argv argument truncated");
    argv->emplace_back(payload.substr(pos, len));
    pos += len;
  }
  if (pos != payload.size()) return Status::Corruption("argv payload has trailing bytes");
  return Status::OK();
}

}  // namespace kv::coding
