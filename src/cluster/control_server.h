// ControlServer: the supervisor's end of the control socket (protocol in control_channel.h).
// Accepts on the event loop, reads one request line per connection (at most 64 KiB), asks the
// handler for the reply, writes it and closes, or, when the handler says so, holds the
// connection open until the server is destroyed (`down` waits on that EOF), or answers later
// (deferred: a rolling restart replies once it is done). Owns the socket file: removes it
// when destroyed. Single-threaded (the loop's thread).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "net/event_loop.h"

namespace kv::cluster {

class ControlServer {
 public:
  struct Reply {
    nlohmann::json body;
    bool hold_open = false;  // keep the connection until the server goes away
    bool deferred = false;   // no reply now: the handler answers through `later`
  };
  // Sends the reply of a deferred request and closes its connection. Callable once, at any
  // time (also from inside the handler); does nothing once the server is gone.
  using Responder = std::function<void(const nlohmann::json& body)>;
  using Handler = std::function<Reply(const nlohmann::json& request, const Responder& later)>;

  // Binds path (replacing a stale socket file: callers hold the supervisor lock).
  static Result<std::unique_ptr<ControlServer>> listen(net::EventLoop* loop,
                                                       const std::string& path, Handler handler);
  ~ControlServer();
  // Stops accepting and removes the socket file, keeping held connections open (shutdown:
  // the file goes before the supervisor lock is released, the held connections after).
  void close_listener();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

 private:
  ControlServer(net::EventLoop* loop, std::string path, int fd, Handler handler);
  void accept_all();
  void on_readable(int fd);
  void close_conn(int fd);
  void answer_later(uint64_t token, const nlohmann::json& body);

  net::EventLoop* loop_;
  std::string path_;
  int listen_fd_;
  Handler handler_;
  std::map<int, std::string> conns_;  // fd -> request bytes so far
  std::vector<int> held_;             // answered, held open until we go away
  std::map<uint64_t, int> deferred_;  // token -> fd of a request to answer later
  uint64_t next_token_ = 1;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // Responders check it
};

}  // namespace kv::cluster
