#include "cluster/output_mux.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace kv::cluster {
namespace {

constexpr size_t kFlushThreshold = 1 << 20;  // flush early past 1 MiB, bounding memory
// Colours per node, in order of registration; the supervisor's own name is bold.
constexpr int kPalette[] = {36, 33, 32, 35, 34, 91, 96, 93, 92, 95, 94};

// Writes all of data. false if the fd is gone (EPIPE, EBADF, ...).
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, -1);  // somebody made our stdout non-blocking: wait, never drop lines
    } else {
      return false;
    }
  }
  return true;
}

std::string utc_timestamp() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  ::gmtime_r(&ts.tv_sec, &t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", t.tm_year + 1900, t.tm_mon + 1,
                     t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000);
}

}  // namespace

void LineAssembler::feed(std::string_view bytes, const Sink& emit) {
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    std::string_view chunk = bytes.substr(0, nl);
    size_t room = max_line_ - partial_.size();
    if (chunk.size() >= room && (nl == std::string_view::npos || chunk.size() > room)) {
      // Over the cap: emit a max_line piece and go on with the rest of the line.
      partial_.append(chunk.substr(0, room));
      emit(partial_);
      partial_.clear();
      bytes.remove_prefix(room);
      continue;
    }
    if (nl == std::string_view::npos) {
      partial_.append(chunk);
      return;
    }
    std::string_view line;
    if (partial_.empty()) {
      line = chunk;
    } else {
      partial_.append(chunk);
      line = partial_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    emit(line);
    partial_.clear();
    bytes.remove_prefix(nl + 1);
  }
}

void LineAssembler::flush(const Sink& emit) {
  if (partial_.empty()) return;
  emit(partial_);
  partial_.clear();
}

char stream_marker(StreamKind kind) {
  switch (kind) {
    case StreamKind::kStdout:
      return '|';
    case StreamKind::kStderr:
      return '!';
    case StreamKind::kEvent:
      return '*';
  }
  return '|';
}

bool want_color(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && no_color[0] != '\0') return false;
  return fd >= 0 && ::isatty(fd) == 1;
}

OutputMux::OutputMux(MuxOptions options) : options_(std::move(options)) {
  add_name(std::string(kSupervisorName));
}

OutputMux::~OutputMux() {
  flush();
  for (auto& [name, log] : logs_) {
    if (log.fd >= 0) ::close(log.fd);
  }
}

void OutputMux::add_name(const std::string& name) {
  if (colors_.count(name) != 0) return;
  int color = name == kSupervisorName
                  ? 1
                  : kPalette[(colors_.size() - 1) % (sizeof(kPalette) / sizeof(kPalette[0]))];
  colors_.emplace(name, color);
  width_ = std::max(width_, name.size());
}

void OutputMux::append_terminal(const std::string& name, char marker, std::string_view text) {
  if (options_.out_fd < 0) return;
  out_.reserve(out_.size() + width_ + text.size() + 16);
  if (options_.color) {
    auto it = colors_.find(name);
    int color = it == colors_.end() ? 0 : it->second;
    out_ += fmt::format("\x1b[{}m{:<{}} {}\x1b[0m ", color, name, width_, marker);
  } else {
    out_ += name;
    out_.append(width_ - std::min(width_, name.size()), ' ');
    out_ += ' ';
    out_ += marker;
    out_ += ' ';
  }
  out_ += text;
  out_ += '\n';
}

void OutputMux::append_log(const std::string& name, char marker, std::string_view text) {
  if (options_.log_dir.empty()) return;
  LogFile& log = logs_[name];
  log.buffer += utc_timestamp();
  log.buffer += ' ';
  log.buffer += marker;
  log.buffer += ' ';
  log.buffer += text;
  log.buffer += '\n';
  if (log.buffer.size() >= kFlushThreshold) flush_log(name, &log);
}

void OutputMux::node_line(const std::string& name, StreamKind kind, std::string_view text) {
  add_name(name);
  append_terminal(name, stream_marker(kind), text);
  append_log(name, stream_marker(kind), text);
  maybe_flush();
}

void OutputMux::event(std::string_view text, const std::string& about_node) {
  std::string name(kSupervisorName);
  append_terminal(name, '|', text);
  append_log(name, '|', text);
  if (!about_node.empty()) append_log(about_node, stream_marker(StreamKind::kEvent), text);
  maybe_flush();
}

void OutputMux::maybe_flush() {
  if (out_.size() >= kFlushThreshold) flush();
}

void OutputMux::flush() {
  if (!out_.empty() && options_.out_fd >= 0) {
    // A reader that went away (kvcluster up | head) must not stop the supervision: from then
    // on the stream goes only to the log files.
    if (!write_all(options_.out_fd, out_)) options_.out_fd = -1;
  }
  out_.clear();
  for (auto& [name, log] : logs_) flush_log(name, &log);
}

void OutputMux::open_log(const std::string& name, LogFile* log) {
  std::string path = options_.log_dir + "/" + name + ".log";
  log->fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  struct stat st {};
  log->size = (log->fd >= 0 && ::fstat(log->fd, &st) == 0) ? static_cast<uint64_t>(st.st_size) : 0;
}

void OutputMux::flush_log(const std::string& name, LogFile* log) {
  if (log->buffer.empty()) return;
  if (log->fd < 0) open_log(name, log);
  if (log->size > 0 && log->size + log->buffer.size() > options_.log_max_bytes) {
    // Rotate once: the previous file becomes .log.1 (replacing an older one).
    std::string path = options_.log_dir + "/" + name + ".log";
    ::close(log->fd);
    ::rename(path.c_str(), (path + ".1").c_str());
    open_log(name, log);
  }
  if (log->fd >= 0 && write_all(log->fd, log->buffer)) log->size += log->buffer.size();
  log->buffer.clear();
}

}  // namespace kv::cluster
