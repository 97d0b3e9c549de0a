// Glob-style pattern matching with Redis's KEYS/SCAN MATCH semantics:
// '*' any run, '?' one byte, '[abc]' / '[^a-z]' classes, '\' escapes the next byte.
// Pure function over bytes (keys may hold any byte).
#pragma once

#include <string_view>

namespace kv::server {

bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace kv::server
