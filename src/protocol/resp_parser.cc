#include "protocol/resp_parser.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace kv::protocol {
namespace {

// On a client's word alone a bulk string reserves at most this much; beyond it the string
// grows (geometrically) with the bytes that actually arrive.
constexpr size_t kMaxUnbackedReserve = 64 * 1024;
// Argument strings with more capacity are released instead of being kept for reuse, so one
// big SET does not pin its buffer for the connection's lifetime.
constexpr size_t kMaxRetainedCapacity = 64 * 1024;
// How many emptied argument strings are kept beyond the current request's.
constexpr size_t kMaxSpareArgs = 64;
// A '*' header never makes args_ reserve more slots than this up front.
constexpr size_t kMaxArgsReserve = 1024;
// An args_ vector this large is shrunk when a much smaller request follows.
constexpr size_t kShrinkArgsAbove = 4096;

void recycle(std::string* s) {
  if (s->capacity() > kMaxRetainedCapacity) {
    std::string().swap(*s);
  } else {
    s->clear();
  }
}

bool is_inline_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The byte a backslash escape inside double quotes stands for ("\n" -> newline, "\q" -> q).
char unescape(char c) {
  switch (c) {
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'b':
      return '\b';
    case 'a':
      return '\a';
    default:
      return c;
  }
}

// Header lines must end in "\r\n"; read_line() already removed the '\n'.
bool strip_cr(std::string_view* line) {
  if (line->empty() || line->back() != '\r') return false;
  line->remove_suffix(1);
  return true;
}

}  // namespace

bool parse_resp_integer(std::string_view text, int64_t* value) {
  if (text.empty()) return false;
  size_t i = 0;
  const bool negative = text[0] == '-';
  if (negative) {
    i = 1;
    if (text.size() == 1) return false;
  }
  if (text[i] == '0') {
    // "0" alone is the only spelling of zero; "-0" and "007" are rejected like Redis does.
    if (negative || text.size() != 1) return false;
    *value = 0;
    return true;
  }
  const uint64_t limit =
      negative ? static_cast<uint64_t>(INT64_MAX) + 1 : static_cast<uint64_t>(INT64_MAX);
  uint64_t magnitude = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (magnitude > (limit - digit) / 10) return false;
    magnitude = magnitude * 10 + digit;
  }
  *value =
      negative ? static_cast<int64_t>(uint64_t{0} - magnitude) : static_cast<int64_t>(magnitude);
  return true;
}

RequestParser::RequestParser(ParserLimits limits) : limits_(limits) {}

void RequestParser::reset() {
  state_ = State::kStart;
  argc_ = 0;
  multibulk_len_ = 0;
  bulk_remaining_ = 0;
  recycle(&line_buf_);
  error_.clear();
}

ParseResult RequestParser::fail(std::string message) {
  error_ = std::move(message);
  state_ = State::kError;
  return ParseResult::kError;
}

// Finds the end ('\n') of the line that starts at *pos, possibly continuing one buffered in
// line_buf_ by earlier feeds. kLine: *line is the whole line without its '\n' (a view of
// input or of line_buf_, valid until line_buf_ is cleared). kPartial: all of input was
// buffered. kTooLong: the line holds more than max_len bytes besides an optional '\r'.
// Scans at most max_len + 2 bytes, so a flood without newlines is rejected early.
RequestParser::LineStatus RequestParser::read_line(std::string_view input, size_t* pos,
                                                   size_t max_len, std::string_view* line) {
  const char* begin = input.data() + *pos;
  const size_t avail = input.size() - *pos;
  // Invariant: line_buf_.size() <= max_len + 1, so budget >= 1.
  const size_t budget = max_len + 2 - line_buf_.size();
  const size_t scan = std::min(avail, budget);
  const void* newline = std::memchr(begin, '\n', scan);
  if (newline == nullptr) {
    if (scan == budget) return LineStatus::kTooLong;
    line_buf_.append(begin, avail);
    *pos = input.size();
    return LineStatus::kPartial;
  }
  const size_t len = static_cast<size_t>(static_cast<const char*>(newline) - begin);
  if (line_buf_.empty()) {
    *line = std::string_view(begin, len);
  } else {
    line_buf_.append(begin, len);
    *line = line_buf_;
  }
  *pos += len + 1;
  const size_t content = line->size() - (!line->empty() && line->back() == '\r' ? 1 : 0);
  return content > max_len ? LineStatus::kTooLong : LineStatus::kLine;
}

std::string& RequestParser::next_arg() {
  if (argc_ == args_.size()) {
    if (!spare_.empty()) {
      args_.push_back(std::move(spare_.back()));
      spare_.pop_back();
    } else {
      args_.emplace_back();
    }
  }
  std::string& arg = args_[argc_++];
  recycle(&arg);
  return arg;
}

// Makes args() exactly the current request, keeping surplus strings for their capacity.
void RequestParser::finish_request() {
  while (args_.size() > argc_) {
    std::string& last = args_.back();
    if (spare_.size() < kMaxSpareArgs && last.capacity() <= kMaxRetainedCapacity) {
      spare_.push_back(std::move(last));
    }
    args_.pop_back();
  }
  if (args_.capacity() > kShrinkArgsAbove && argc_ < args_.capacity() / 4) {
    args_.shrink_to_fit();
  }
  state_ = State::kStart;
}

// Splits an inline line into args_ the way redis-cli / sdssplitargs does: whitespace
// separates, "double quotes" take \n \r \t \b \a \xHH and \<any> escapes, 'single quotes'
// take only \'. A closing quote must be followed by whitespace or the end of the line.
// False on unbalanced quotes.
bool RequestParser::split_inline(std::string_view line) {
  const size_t n = line.size();
  size_t i = 0;
  while (true) {
    while (i < n && is_inline_space(line[i])) ++i;
    if (i == n) return true;
    std::string& arg = next_arg();
    bool in_double = false;
    bool in_single = false;
    while (true) {
      if (in_double) {
        if (i == n) return false;
        const char c = line[i];
        if (c == '\\' && i + 3 < n && line[i + 1] == 'x' && hex_value(line[i + 2]) >= 0 &&
            hex_value(line[i + 3]) >= 0) {
          arg.push_back(static_cast<char>(hex_value(line[i + 2]) * 16 + hex_value(line[i + 3])));
          i += 4;
        } else if (c == '\\' && i + 1 < n) {
          arg.push_back(unescape(line[i + 1]));
          i += 2;
        } else if (c == '"') {
          if (i + 1 < n && !is_inline_space(line[i + 1])) return false;
          ++i;
          break;
        } else {
          arg.push_back(c);
          ++i;
        }
      } else if (in_single) {
        if (i == n) return false;
        const char c = line[i];
        if (c == '\\' && i + 1 < n && line[i + 1] == '\'') {
          arg.push_back('\'');
          i += 2;
        } else if (c == '\'') {
          if (i + 1 < n && !is_inline_space(line[i + 1])) return false;
          ++i;
          break;
        } else {
          arg.push_back(c);
          ++i;
        }
      } else {
        if (i == n || is_inline_space(line[i])) break;
        const char c = line[i++];
        if (c == '"') {
          in_double = true;
        } else if (c == '\'') {
          in_single = true;
        } else {
          arg.push_back(c);
        }
      }
    }
  }
}

// One switch over all states, on purpose: the whole request grammar reads in one place.
// Each step consumes at least one byte or changes state, and no byte is looked at twice
// (except by read_line's bounded scan), so a request costs O(its bytes) however it is split.
ParseResult RequestParser::feed(std::string_view input, size_t* consumed) {
  size_t pos = 0;
  *consumed = 0;
  if (state_ == State::kError) return ParseResult::kError;
  while (true) {
    if (pos == input.size()) {
      *consumed = pos;
      return ParseResult::kNeedMore;
    }
    *consumed = pos;  // the position of the error, should one be found below
    std::string_view line;
    switch (state_) {
      case State::kStart:
        argc_ = 0;
        if (input[pos] == '*') {
          ++pos;
          state_ = State::kMultibulkCount;
        } else {
          state_ = State::kInline;
        }
        break;

      case State::kMultibulkCount: {
        const LineStatus status = read_line(input, &pos, limits_.max_inline_len, &line);
        if (status == LineStatus::kPartial) break;
        if (status == LineStatus::kTooLong) {
          return fail("Protocol error: too big mbulk count string");
        }
        int64_t count = 0;
        const bool ok = strip_cr(&line) && parse_resp_integer(line, &count);
        line_buf_.clear();
        if (!ok || (count > 0 && static_cast<uint64_t>(count) > limits_.max_multibulk_len)) {
          return fail("Protocol error: invalid multibulk length");
        }
        if (count <= 0) {  // an empty request: skipped, like Redis does
          state_ = State::kStart;
          break;
        }
        multibulk_len_ = static_cast<size_t>(count);
        args_.reserve(std::min(multibulk_len_, kMaxArgsReserve));
        state_ = State::kBulkDollar;
        break;
      }

      case State::kBulkDollar: {
        const char c = input[pos];
        if (c != '$') {
          // A raw CR/LF would break the one-line error reply; Redis turns them into spaces too.
          const char shown = (c == '\r' || c == '\n') ? ' ' : c;
          return fail(std::string("Protocol error: expected '$', got '") + shown + "'");
        }
        ++pos;
        state_ = State::kBulkLength;
        break;
      }

      case State::kBulkLength: {
        const LineStatus status = read_line(input, &pos, limits_.max_inline_len, &line);
        if (status == LineStatus::kPartial) break;
        if (status == LineStatus::kTooLong) {
          return fail("Protocol error: too big bulk count string");
        }
        int64_t len = 0;
        const bool ok = strip_cr(&line) && parse_resp_integer(line, &len);
        line_buf_.clear();
        if (!ok || len < 0 || static_cast<uint64_t>(len) > limits_.max_bulk_len) {
          return fail("Protocol error: invalid bulk length");
        }
        bulk_remaining_ = static_cast<size_t>(len);
        std::string& arg = next_arg();
        // Reserve what has arrived (or a small cap), never merely what the header claims.
        arg.reserve(std::min(bulk_remaining_, std::max(kMaxUnbackedReserve, input.size() - pos)));
        state_ = bulk_remaining_ == 0 ? State::kBulkCr : State::kBulkPayload;
        break;
      }

      case State::kBulkPayload: {
        const size_t n = std::min(bulk_remaining_, input.size() - pos);
        args_[argc_ - 1].append(input.data() + pos, n);
        pos += n;
        bulk_remaining_ -= n;
        if (bulk_remaining_ == 0) state_ = State::kBulkCr;
        break;
      }

      case State::kBulkCr:
      case State::kBulkLf: {
        const char expected = state_ == State::kBulkCr ? '\r' : '\n';
        if (input[pos] != expected) {
          return fail("Protocol error: expected CRLF after bulk payload");
        }
        ++pos;
        if (state_ == State::kBulkCr) {
          state_ = State::kBulkLf;
        } else if (argc_ < multibulk_len_) {
          state_ = State::kBulkDollar;
        } else {
          finish_request();
          *consumed = pos;
          return ParseResult::kComplete;
        }
        break;
      }

      case State::kInline: {
        const LineStatus status = read_line(input, &pos, limits_.max_inline_len, &line);
        if (status == LineStatus::kPartial) break;
        if (status == LineStatus::kTooLong) {
          return fail("Protocol error: too big inline request");
        }
        const bool balanced = split_inline(line);
        line_buf_.clear();
        if (!balanced) return fail("Protocol error: unbalanced quotes in request");
        if (argc_ == 0) {  // a blank line: skipped
          state_ = State::kStart;
          break;
        }
        finish_request();
        *consumed = pos;
        return ParseResult::kComplete;
      }

      case State::kError:
        return ParseResult::kError;
    }
  }
}

}  // namespace kv::protocol
