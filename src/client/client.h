// Client: a blocking RESP2 connection to one kvstore (or any Redis-protocol server).
// Used by kv_client and by the end-to-end tests. Owns its socket; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "protocol/resp_reply.h"

namespace kv::client {

class Client {
 public:
  // Connects (IOError naming host:port on failure, e.g. connection refused).
  static Result<Client> connect(const std::string& host, uint16_t port,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5));
  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // Sends one command and waits for its reply. A server error (-ERR) is a Reply of type
  // kError, not a failed Result; IOError only when the connection breaks or times out.
  Result<protocol::Reply> call(const std::vector<std::string>& argv);
  // Pipelining: queue commands with send(), then read their replies in order.
  Status send(const std::vector<std::string>& argv);
  Status send_raw(std::string_view bytes);
  Result<protocol::Reply> read_reply();
  // Receive timeout for read_reply (default 30 s).
  void set_timeout(std::chrono::milliseconds timeout);
  int fd() const { return fd_; }

 private:
  explicit Client(int fd) : fd_(fd) {}
  Status flush();

  int fd_ = -1;
  std::string out_;
  std::string in_;
};

}  // namespace kv::client
