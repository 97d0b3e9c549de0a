// Reply: one RESP2 reply value as the client sees it, and parse_reply(), the client's parser
// of server replies. Stateless and pure (bytes in, value out); bounded in nesting depth and
// in what it allocates, so a hostile or broken server cannot crash the client.
// Value type; no shared state, safe to use from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/resp_parser.h"  // ParseResult

namespace kv::protocol {

// Limits parse_reply() enforces; exceeding one is a kError.
constexpr size_t kMaxReplyDepth = 64;                      // array nesting levels
constexpr int64_t kMaxReplyBulkLen = 512ll * 1024 * 1024;  // bytes of one bulk string
constexpr int64_t kMaxReplyArrayLen = 1ll << 31;           // elements of one array
constexpr size_t kMaxReplyLineLen = 1024 * 1024;           // bytes of a +, -, : or header line

struct Reply {
  enum class Type { kSimpleString, kError, kInteger, kBulkString, kNil, kArray, kNilArray };
  Type type = Type::kNil;
  std::string str;  // simple string, error text (without '-'), bulk payload
  int64_t integer = 0;
  std::vector<Reply> elements;

  // Human text like redis-cli prints it: OK, (integer) 3, "value" (quoted and escaped),
  // (nil), (error) ERR ..., (empty array), and arrays numbered "1) ..." with nested arrays
  // indented. Several lines for arrays, separated by '\n', with no trailing newline.
  std::string to_display() const;
};

// Parses one reply from the front of input.
//  kComplete: *out holds it and *consumed is its length in bytes.
//  kNeedMore: input is a valid but incomplete prefix; *consumed = 0, *out untouched.
//  kError: input is malformed or exceeds the limits above; *error says how; *consumed = 0.
// Re-parses from the start on every call (no state is kept between calls).
ParseResult parse_reply(std::string_view input, size_t* consumed, Reply* out, std::string* error);

}  // namespace kv::protocol
