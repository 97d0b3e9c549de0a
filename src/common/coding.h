// Byte coding helpers: little-endian fixed-width integers, and the argv codec used for
// command payloads in the write-ahead log. Pure functions, no state.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kv::coding {

inline void put_fixed32(std::string* dst, uint32_t v) {
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  dst->append(buf, 4);
}

inline void put_fixed64(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  dst->append(buf, 8);
}

inline void encode_fixed32(char* dst, uint32_t v) {
  for (int i = 0; i < 4; ++i) dst[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

inline void encode_fixed64(char* dst, uint64_t v) {
  for (int i = 0; i < 8; ++i) dst[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// REQUIRES: p points at 4 (resp. 8) readable bytes.
inline uint32_t decode_fixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

inline uint64_t decode_fixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// argv payload: [count u32] then count x ([len u32][bytes]).
void encode_argv(const std::vector<std::string>& argv, std::string* dst);
// Corruption if the payload is not exactly one well-formed argv.
Status decode_argv(std::string_view payload, std::vector<std::string>* argv);
// Argument i of an argv payload, as a view into it, without decoding the rest; an empty
// view when the payload is too short to hold it (nothing else is checked: a hint, e.g. the
// key to prefetch, not a substitute for decode_argv).
std::string_view argv_at(std::string_view payload, uint32_t i);

}  // namespace kv::coding
