// RESP2 encoders: each appends one value to an output buffer, byte-identical to what Redis
// sends (+OK\r\n, :3\r\n, $5\r\nhello\r\n, ...). write_command() encodes a client request.
// Pure functions on the caller's buffer; no allocation beyond growing it, no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kv::protocol {

// "+<s>\r\n". A simple string is one line: any '\r' or '\n' in s is sent as a space.
void write_simple(std::string* out, std::string_view s);
// "-<msg>\r\n"; msg includes the prefix word, e.g. "ERR unknown command". Like Redis,
// '\r' and '\n' in msg are sent as spaces so the error stays one line.
void write_error(std::string* out, std::string_view msg);
// ":<v>\r\n"
void write_integer(std::string* out, int64_t v);
// "$<len>\r\n<s>\r\n"; s may hold any bytes.
void write_bulk(std::string* out, std::string_view s);
// "$-1\r\n": the nil bulk string.
void write_nil(std::string* out);
// "*<n>\r\n"; the caller then writes the n elements.
void write_array_header(std::string* out, size_t n);
// "*-1\r\n": the nil array.
void write_nil_array(std::string* out);
// A client request: an array of bulk strings, one per argument.
void write_command(std::string* out, const std::vector<std::string>& argv);

}  // namespace kv::protocol
