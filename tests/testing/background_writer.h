// BackgroundWriter: a client thread that keeps writing <prefix><seq> = v<key> (SET) while a
// test moves the cluster around it, and records every outcome. It starts at ports[0]; when
// its connection drops it reconnects to the next port (the write in flight then has an
// unknown outcome and is not counted as acknowledged) and counts a reconnect. Every error
// reply is recorded. Tests that must see no disruption check errors() and reconnects().
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "testing/test_util.h"

namespace kv::testing {

class BackgroundWriter {
 public:
  BackgroundWriter(std::string prefix, std::vector<uint16_t> ports)
      : prefix_(std::move(prefix)), ports_(std::move(ports)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~BackgroundWriter() { stop(); }
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Waits until at least n more writes were acknowledged (the cluster takes writes now).
  bool wait_progress(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const size_t target = acked_count() + n;
    return eventually([&] { return acked_count() >= target; }, timeout);
  }
  size_t acked_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_.size();
  }
  // Keys whose SET was answered +OK.
  std::vector<std::string> acked() {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_;
  }
  // "<key>: <reply>" for every SET answered with anything but +OK.
  std::vector<std::string> errors() {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_;
  }
  std::string first_error() {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_.empty() ? "" : errors_.front();
  }
  int reconnects() const { return reconnects_; }

 private:
  void loop() {
    using namespace std::chrono_literals;
    size_t target = 0;
    std::optional<client::Client> conn;
    for (uint64_t seq = 0; !stop_; ++seq) {
      if (!conn) {
        auto c = client::Client::connect("127.0.0.1", ports_[target % ports_.size()], 1s);
        if (!c.ok()) {
          target++;
          std::this_thread::sleep_for(10ms);  // pacing between connection attempts
          continue;
        }
        c->set_timeout(15s);
        conn.emplace(std::move(c).value());
      }
      std::string key = fmt::format("{}{}", prefix_, seq);
      auto reply = conn->call({"SET", key, "v" + key});
      if (!reply.ok()) {  // dropped: outcome unknown; go on through the next node
        conn.reset();
        target++;
        reconnects_++;
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (reply->type == protocol::Reply::Type::kSimpleString && reply->str == "OK") {
        acked_.push_back(key);
      } else {
        errors_.push_back(key + ": " + reply->to_display());
      }
    }
  }

  std::string prefix_;  // of every key it writes
  std::vector<uint16_t> ports_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> reconnects_{0};
  std::mutex mu_;
  std::vector<std::string> acked_;
  std::vector<std::string> errors_;
};

}  // namespace kv::testing
