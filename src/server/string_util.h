// Small string helpers for command handlers: case-insensitive compare and Redis's strict
// integer parsing (no spaces, no '+', no leading zeros, must fit in 64 bits). Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace kv::server {

bool equals_ignore_case(std::string_view a, std::string_view b);
std::optional<int64_t> parse_int64(std::string_view s);
std::optional<uint64_t> parse_uint64(std::string_view s);
bool is_expiry_option(std::string_view arg);

}  // namespace kv::server
