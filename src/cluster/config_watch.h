// ConfigWatch: tells the supervisor when cluster.json may have changed. Watches the directory
// holding the file with inotify (not the file itself: editors save by writing a temp file and
// renaming it over, which a watch on the old inode would miss), filters on the file's name,
// and debounces bursts (write + rename + chmod) into one callback ~100 ms after the last event.
// Single-threaded (the loop's thread); owns its inotify fd.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "net/event_loop.h"

namespace kv::cluster {

class ConfigWatch {
 public:
  static Result<std::unique_ptr<ConfigWatch>> start(
      net::EventLoop* loop, const std::string& file_path, std::function<void()> on_change,
      std::chrono::milliseconds debounce = std::chrono::milliseconds(100));
  ~ConfigWatch();
  ConfigWatch(const ConfigWatch&) = delete;
  ConfigWatch& operator=(const ConfigWatch&) = delete;

 private:
  ConfigWatch(net::EventLoop* loop, int fd, std::string name, std::function<void()> on_change,
              std::chrono::milliseconds debounce);
  void on_readable();

  net::EventLoop* loop_;
  int fd_;
  std::string name_;  // the file's name inside the watched directory
  std::function<void()> on_change_;
  std::chrono::milliseconds debounce_;
  uint64_t timer_ = 0;
};

}  // namespace kv::cluster
