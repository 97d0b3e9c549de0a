// The one output stream of `kvcluster up`: every node's stdout and stderr plus the
// supervisor's own events, as whole prefixed lines
//     node1     | [node] listening on port 9001      (stdout)
//     node1     ! INFO data dir ./node1 ...          (stderr)
//     kvcluster | node1 started (pid 4242)           (supervisor event)
// LineAssembler (pure) cuts a byte stream into lines. OutputMux formats lines, buffers them
// and writes each sink's batch with one write(2), so lines never tear or interleave (the
// supervisor is the only writer). Each name also gets a log file <log_dir>/<name>.log with a
// UTC timestamp per line, rotated to <name>.log.1 when it would pass the size cap.
// Single-threaded (the supervisor's loop); not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace kv::cluster {

// Cuts bytes into lines. Lines are emitted without their '\n' (and without a '\r' before it).
// A line longer than max_line is emitted in max_line pieces, so memory stays bounded whatever
// a node writes.
class LineAssembler {
 public:
  using Sink = std::function<void(std::string_view line)>;
  explicit LineAssembler(size_t max_line = 64 * 1024) : max_line_(max_line) {}

  void feed(std::string_view bytes, const Sink& emit);
  bool has_partial() const { return !partial_.empty(); }
  // Emits the unfinished line, if any, as a line of its own (a short delay passed, or EOF).
  void flush(const Sink& emit);

 private:
  size_t max_line_;
  std::string partial_;
};

enum class StreamKind { kStdout, kStderr, kEvent };

// The marker after the padded name: '|' stdout, '!' stderr, '*' supervisor event in a node's
// log file (in the terminal stream events carry the "kvcluster" name and '|').
char stream_marker(StreamKind kind);

struct MuxOptions {
  int out_fd = 1;       // -1: no terminal stream (detached)
  bool color = false;   // ANSI colour on the name prefix
  std::string log_dir;  // empty: no log files
  uint64_t log_max_bytes = 10 * 1024 * 1024;
};

// Whether `up` should colour its stream: fd is a terminal and NO_COLOR is unset or empty.
bool want_color(int fd);

class OutputMux {
 public:
  static constexpr std::string_view kSupervisorName = "kvcluster";

  explicit OutputMux(MuxOptions options);
  ~OutputMux();
  OutputMux(const OutputMux&) = delete;
  OutputMux& operator=(const OutputMux&) = delete;

  // Registers a name (a node, or kSupervisorName) so the prefix width covers it and it gets a
  // colour. Names may be added at any time (reload); the width only grows.
  void add_name(const std::string& name);
  // One line of a node's output. REQUIRES: text holds no '\n'.
  void node_line(const std::string& name, StreamKind kind, std::string_view text);
  // One supervisor event; when about_node is set it is also written to that node's log file.
  void event(std::string_view text, const std::string& about_node = "");
  // Writes everything buffered: one write(2) per sink. Called from the loop's before-sleep
  // hook, when the buffer grows large, and at exit.
  void flush();
  size_t buffered_bytes() const { return out_.size(); }
  size_t prefix_width() const { return width_; }

 private:
  struct LogFile {
    int fd = -1;
    uint64_t size = 0;
    std::string buffer;
  };
  void append_terminal(const std::string& name, char marker, std::string_view text);
  void append_log(const std::string& name, char marker, std::string_view text);
  void flush_log(const std::string& name, LogFile* log);
  void open_log(const std::string& name, LogFile* log);
  void maybe_flush();

  MuxOptions options_;
  size_t width_ = 0;
  std::map<std::string, int> colors_;  // name -> ANSI colour code
  std::string out_;                    // pending terminal bytes
  std::map<std::string, LogFile> logs_;
  std::string timestamp_;  // cached per flush cycle
};

}  // namespace kv::cluster
