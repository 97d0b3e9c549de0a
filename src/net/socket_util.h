// Thin wrappers over BSD sockets that turn errno into one clear Status line.
// Used by the server (listening) and the client library (connecting). Stateless.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace kv::net {

// Binds and listens on host:port (port 0: the OS picks). Returns a non-blocking fd.
// A taken port is Status::Busy("port 9001 is already in use on 127.0.0.1").
Result<int> listen_tcp(const std::string& host, uint16_t port, int backlog = 511);
// The port a bound socket actually got (what --port 0 resolved to).
Result<uint16_t> local_port(int fd);
// Blocking connect with a timeout; the returned fd is blocking with TCP_NODELAY set.
Result<int> connect_tcp(const std::string& host, uint16_t port, std::chrono::milliseconds timeout);
void set_nonblocking(int fd);
void set_nodelay(int fd);

}  // namespace kv::net
