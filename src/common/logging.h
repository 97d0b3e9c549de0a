// Process-wide logging to stderr: one line per call, written with a single write(2) so
// lines from one process never interleave. Format: "LEVEL message" (greppable by level).
// Thread-safe. fatal() logs and aborts: used where retrying would lie (failed fsync).
#pragma once

#include <fmt/core.h>

#include <string_view>

namespace kv::log {

enum class Level { kDebug, kInfo, kWarn, kError };

void set_min_level(Level level);
void write(Level level, std::string_view message);
[[noreturn]] void fatal_message(std::string_view message);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
[[noreturn]] void fatal(fmt::format_string<Args...> f, Args&&... args) {
  fatal_message(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace kv::log
