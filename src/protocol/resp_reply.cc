#include "protocol/resp_reply.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace kv::protocol {
namespace {

// Reads a reply from input[*pos] on, recursively for arrays. On kComplete *pos is advanced
// past the reply; otherwise *pos is meaningless.
class ReplyReader {
 public:
  ReplyReader(std::string_view input, std::string* error) : input_(input), error_(error) {}

  ParseResult read(size_t* pos, size_t depth, Reply* out) {
    if (*pos >= input_.size()) return ParseResult::kNeedMore;
    const char type = input_[*pos];
    if (std::strchr("+-:$*", type) == nullptr || type == '\0') {
      return fail(std::string("unexpected reply type byte '") + type + "'");
    }
    ++*pos;
    std::string_view line;
    ParseResult result = read_line(pos, &line);
    if (result != ParseResult::kComplete) return result;
    switch (type) {
      case '+':
        out->type = Reply::Type::kSimpleString;
        out->str.assign(line);
        return ParseResult::kComplete;
      case '-':
        out->type = Reply::Type::kError;
        out->str.assign(line);
        return ParseResult::kComplete;
      case ':':
        out->type = Reply::Type::kInteger;
        if (!parse_resp_integer(line, &out->integer)) return fail("invalid integer reply");
        return ParseResult::kComplete;
      case '$':
        return read_bulk(line, pos, out);
      default:  // '*'
        return read_array(line, pos, depth, out);
    }
  }

 private:
  ParseResult fail(std::string message) {
    *error_ = "Protocol error: " + std::move(message);
    return ParseResult::kError;
  }

  // The rest of the line at *pos, which must end in "\r\n"; *pos moves past it.
  ParseResult read_line(size_t* pos, std::string_view* line) {
    const size_t avail = input_.size() - *pos;
    const size_t scan = std::min(avail, kMaxReplyLineLen + 2);
    const char* begin = input_.data() + *pos;
    const void* newline = std::memchr(begin, '\n', scan);
    if (newline == nullptr) {
      return scan == avail ? ParseResult::kNeedMore : fail("reply line too long");
    }
    const size_t len = static_cast<size_t>(static_cast<const char*>(newline) - begin);
    if (len == 0 || begin[len - 1] != '\r') return fail("expected CRLF at end of line");
    *line = std::string_view(begin, len - 1);
    *pos += len + 1;
    return ParseResult::kComplete;
  }

  ParseResult read_bulk(std::string_view header, size_t* pos, Reply* out) {
    int64_t len = 0;
    if (!parse_resp_integer(header, &len) || len < -1 || len > kMaxReplyBulkLen) {
      return fail("invalid bulk length");
    }
    if (len == -1) {
      out->type = Reply::Type::kNil;
      return ParseResult::kComplete;
    }
    const size_t n = static_cast<size_t>(len);
    if (input_.size() - *pos < n + 2) return ParseResult::kNeedMore;
    if (input_[*pos + n] != '\r' || input_[*pos + n + 1] != '\n') {
      return fail("expected CRLF after bulk payload");
    }
    out->type = Reply::Type::kBulkString;
    out->str.assign(input_.data() + *pos, n);
    *pos += n + 2;
    return ParseResult::kComplete;
  }

  ParseResult read_array(std::string_view header, size_t* pos, size_t depth, Reply* out) {
    int64_t count = 0;
    if (!parse_resp_integer(header, &count) || count < -1 || count > kMaxReplyArrayLen) {
      return fail("invalid multibulk length");
    }
    if (count == -1) {
      out->type = Reply::Type::kNilArray;
      return ParseResult::kComplete;
    }
    // depth counts the arrays enclosing this one: at most kMaxReplyDepth arrays nest.
    if (depth >= kMaxReplyDepth) return fail("reply nesting too deep");
    out->type = Reply::Type::kArray;
    // Every element takes at least 3 bytes ("+\r\n"): reserve no more than could have arrived.
    const size_t n = static_cast<size_t>(count);
    out->elements.reserve(std::min(n, (input_.size() - *pos) / 3));
    for (size_t i = 0; i < n; ++i) {
      Reply element;
      const ParseResult result = read(pos, depth + 1, &element);
      if (result != ParseResult::kComplete) return result;
      out->elements.push_back(std::move(element));
    }
    return ParseResult::kComplete;
  }

  std::string_view input_;
  std::string* error_;
};

// Appends s quoted and escaped the way redis-cli shows bulk strings.
void append_quoted(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (const char c : s) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '"':
        out->append("\\\"");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\a':
        out->append("\\a");
        break;
      case '\b':
        out->append("\\b");
        break;
      default: {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7f) {
          out->push_back(c);
        } else {
          out->append("\\x");
          out->push_back(kHex[byte >> 4]);
          out->push_back(kHex[byte & 0xf]);
        }
      }
    }
  }
  out->push_back('"');
}

// Appends r followed by '\n'. Array elements after the first start on a new line with
// `indent`; the first continues the line its index number began.
void append_display(const Reply& r, const std::string& indent, std::string* out) {
  switch (r.type) {
    case Reply::Type::kSimpleString:
      out->append(r.str);
      break;
    case Reply::Type::kError:
      out->append("(error) ").append(r.str);
      break;
    case Reply::Type::kInteger:
      out->append("(integer) ").append(std::to_string(r.integer));
      break;
    case Reply::Type::kBulkString:
      append_quoted(out, r.str);
      break;
    case Reply::Type::kNil:
    case Reply::Type::kNilArray:
      out->append("(nil)");
      break;
    case Reply::Type::kArray: {
      if (r.elements.empty()) {
        out->append("(empty array)");
        break;
      }
      const size_t width = std::to_string(r.elements.size()).size();
      const std::string child_indent = indent + std::string(width + 2, ' ');
      for (size_t i = 0; i < r.elements.size(); ++i) {
        if (i > 0) out->append(indent);
        const std::string number = std::to_string(i + 1);
        out->append(width - number.size(), ' ').append(number).append(") ");
        append_display(r.elements[i], child_indent, out);
      }
      return;  // each element already ended its line
    }
  }
  out->push_back('\n');
}

}  // namespace

std::string Reply::to_display() const {
  std::string text;
  append_display(*this, "", &text);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

ParseResult parse_reply(std::string_view input, size_t* consumed, Reply* out, std::string* error) {
  *consumed = 0;
  size_t pos = 0;
  Reply reply;
  ReplyReader reader(input, error);
  const ParseResult result = reader.read(&pos, 0, &reply);
  if (result == ParseResult::kComplete) {
    *out = std::move(reply);
    *consumed = pos;
  }
  return result;
}

}  // namespace kv::protocol
