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

// Batch payload: several commands in one log entry (a Raft leader's writes from one turn of
// its event loop, in order). The argv layout with argv payloads as its arguments:
// [count u32] then count x ([len u32][argv payload of len bytes]).
// Starts *dst as an empty batch (count 0), replacing what it held.
void start_batch(std::string* dst);
// Appends one command to a batch made by start_batch and counts it.
void append_to_batch(const std::vector<std::string>& argv, std::string* batch);
uint32_t batch_count(std::string_view batch);  // REQUIRES: batch holds at least its count
// Views of the batch's commands (argv payloads, each still to be decoded), in order, replacing
// *commands. Corruption, with *commands empty, if the framing is broken (the commands
// themselves are checked by decode_argv).
Status split_batch(std::string_view payload, std::vector<std::string_view>* commands);

}  // namespace kv::coding
