// RequestParser: the server's incremental parser of client requests, both RESP2 multibulk
// ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") and inline commands ("PING\r\n", "SET a b\n" from telnet).
// Pure: takes bytes, returns Complete / NeedMore / Error; no I/O. One parser per connection,
// not thread-safe. Partial progress is kept across feed() calls, so cost is linear in bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kv::protocol {

enum class ParseResult { kComplete, kNeedMore, kError };

// Strict decimal integer as RESP length/integer lines carry it: optional '-', no '+', no
// leading zeros, no spaces, no overflow. False on anything else (including "" and "-0").
bool parse_resp_integer(std::string_view text, int64_t* value);

struct ParserLimits {
  size_t max_bulk_len = 512ull * 1024 * 1024;  // like Redis proto-max-bulk-len
  size_t max_multibulk_len = 1024 * 1024;      // max number of arguments in one request
  size_t max_inline_len = 64 * 1024;           // max bytes of one inline request line
};

class RequestParser {
 public:
  explicit RequestParser(ParserLimits limits = {});

  // Consumes bytes from the front of `input` (the unconsumed front of the connection's input
  // buffer) and sets *consumed to how many it used, for every result.
  //  kComplete: one whole request was parsed; args() holds it (never empty) until the next
  //    feed(). The caller drops *consumed bytes and calls feed() again with the rest.
  //  kNeedMore: every byte given was consumed into internal state. Call again with NEW bytes
  //    only. Empty requests ("*0\r\n", "*-1\r\n", blank inline lines) are skipped silently
  //    inside feed(): they are consumed and never surface as kComplete.
  //  kError: protocol violation; error() holds the Redis-compatible message (e.g.
  //    "Protocol error: invalid bulk length"). The parser stays in the error state (further
  //    feeds return kError, consuming nothing) until reset(). The caller replies
  //    "-ERR <error()>\r\n" and closes.
  // Never allocates what the client merely claims: buffers grow with the bytes that arrive.
  ParseResult feed(std::string_view input, size_t* consumed);

  // The last complete request. Contents are unspecified after kNeedMore / kError.
  // The server may move strings (or the whole vector) out through mutable_args(); the parser
  // copes, but leaving them in place lets their capacity be reused by the next request.
  const std::vector<std::string>& args() const { return args_; }
  std::vector<std::string>& mutable_args() { return args_; }

  const std::string& error() const { return error_; }

  // Forgets any partial request and any error; keeps buffers for reuse.
  void reset();

 private:
  enum class State {
    kStart,           // between requests: the next byte decides multibulk or inline
    kMultibulkCount,  // after '*': reading the count line
    kBulkDollar,      // expecting the '$' that opens the next argument
    kBulkLength,      // after '$': reading the length line
    kBulkPayload,     // copying bulk_remaining_ payload bytes
    kBulkCr,          // expecting the '\r' after a payload
    kBulkLf,          // expecting the '\n' after a payload
    kInline,          // reading an inline line up to '\n'
    kError,
  };
  enum class LineStatus { kLine, kPartial, kTooLong };

  LineStatus read_line(std::string_view input, size_t* pos, size_t max_len, std::string_view* line);
  ParseResult fail(std::string message);
  std::string& next_arg();
  void finish_request();
  bool split_inline(std::string_view line);

  ParserLimits limits_;
  State state_ = State::kStart;
  // Number of args of the current request filled so far; args_[0, argc_) belong to it.
  // args_ may hold more (stale) strings while a request is in progress; trimmed on completion.
  size_t argc_ = 0;
  size_t multibulk_len_ = 0;   // arguments announced by the current '*' header
  size_t bulk_remaining_ = 0;  // payload bytes still to copy into args_[argc_ - 1]
  std::string line_buf_;       // a header/inline line split across feeds; empty otherwise
  std::vector<std::string> args_;
  std::vector<std::string> spare_;  // emptied strings kept for their capacity
  std::string error_;
};

}  // namespace kv::protocol
