#include "protocol/resp_writer.h"

#include <charconv>

namespace kv::protocol {
namespace {

// Room for a type byte, the 20 digits and sign of any 64-bit integer, and "\r\n".
constexpr size_t kHeaderBufferSize = 24;

// Appends "<type><v>\r\n" with a single append.
template <typename Int>
void write_header(std::string* out, char type, Int v) {
  char buf[kHeaderBufferSize];
  buf[0] = type;
  char* end = std::to_chars(buf + 1, buf + sizeof(buf) - 2, v).ptr;
  end[0] = '\r';
  end[1] = '\n';
  out->append(buf, static_cast<size_t>(end + 2 - buf));
}

// Appends "<type><line>\r\n", turning CR and LF inside line into spaces.
void write_line(std::string* out, char type, std::string_view line) {
  const size_t start = out->size();
  out->push_back(type);
  out->append(line);
  if (line.find_first_of("\r\n") != std::string_view::npos) {
    for (size_t i = start + 1; i < out->size(); ++i) {
      char& c = (*out)[i];
      if (c == '\r' || c == '\n') c = ' ';
    }
  }
  out->append("\r\n", 2);
}

size_t decimal_digits(size_t v) {
  size_t digits = 1;
  while (v >= 10) {
    v /= 10;
    ++digits;
  }
  return digits;
}

}  // namespace

void write_simple(std::string* out, std::string_view s) { write_line(out, '+', s); }

void write_error(std::string* out, std::string_view msg) { write_line(out, '-', msg); }

void write_integer(std::string* out, int64_t v) { write_header(out, ':', v); }

void write_bulk(std::string* out, std::string_view s) {
  write_header(out, '$', s.size());
  out->append(s);
  out->append("\r\n", 2);
}

void write_nil(std::string* out) { out->append("$-1\r\n", 5); }

void write_array_header(std::string* out, size_t n) { write_header(out, '*', n); }

void write_nil_array(std::string* out) { out->append("*-1\r\n", 5); }

void write_command(std::string* out, const std::vector<std::string>& argv) {
  size_t total = 3 + decimal_digits(argv.size());
  for (const std::string& arg : argv) total += 5 + decimal_digits(arg.size()) + arg.size();
  out->reserve(out->size() + total);
  write_array_header(out, argv.size());
  for (const std::string& arg : argv) write_bulk(out, arg);
}

}  // namespace kv::protocol
