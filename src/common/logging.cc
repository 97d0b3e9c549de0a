#include "common/logging.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace kv::log {
namespace {

std::atomic<Level> g_min_level{Level::kInfo};

const char* level_name(Level level) {
  switch (level) {
    case Level::kDebug:
      return "DEBUG";
    case Level::kInfo:
      return "INFO";
    case Level::kWarn:
      return "WARN";
    case Level::kError:
      return "ERROR";
  }
  return "?";
}

void write_line(std::string_view level, std::string_view message) {
  std::string line;
  line.reserve(level.size() + message.size() + 2);
  line.append(level).append(" ").append(message).append("\n");
  // One write per line: lines from this process stay whole even when stderr is a pipe
  // shared with other writers (PIPE_BUF atomicity for short lines).
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + off, line.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

}  // namespace

void set_min_level(Level level) { g_min_level.store(level); }

void write(Level level, std::string_view message) {
  if (level < g_min_level.load(std::memory_order_relaxed)) return;
  write_line(level_name(level), message);
}

void fatal_message(std::string_view message) {
  write_line("FATAL", message);
  std::abort();
}

}  // namespace kv::log
