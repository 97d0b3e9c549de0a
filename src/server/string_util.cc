#include "server/string_util.h"

#include <cctype>
#include <charconv>

namespace kv::server {

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::optional<int64_t> parse_int64(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  size_t digits_at = s[0] == '-' ? 1 : 0;
  if (digits_at == s.size()) return std::nullopt;
  // Redis's string2ll: "0" is fine, "007" and "-0" are not integers.
  if (s[digits_at] == '0' && (s.size() > digits_at + 1 || digits_at == 1)) return std::nullopt;
  int64_t v = 0;
  auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<uint64_t> parse_uint64(std::string_view s) {
  if (s.empty() || s.size() > 20 || s[0] == '-' || s[0] == '+') return std::nullopt;
  uint64_t v = 0;
  auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

bool is_expiry_option(std::string_view arg) {
  return equals_ignore_case(arg, "ex") || equals_ignore_case(arg, "px") ||
         equals_ignore_case(arg, "exat") || equals_ignore_case(arg, "pxat");
}

}  // namespace kv::server
