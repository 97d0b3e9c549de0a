// Connection: one client's socket and its protocol state. Owned by the Server (by fd).
// Replies accumulate in `out` and leave only from the Server's pre-sleep hook, after the
// log sync that covers them.
#pragma once

#include <cstdint>
#include <string>

#include "protocol/resp_parser.h"

namespace kv::server {

struct Connection {
  Connection(int fd, uint64_t id, protocol::ParserLimits limits) : fd(fd), id(id), parser(limits) {}

  int fd;
  uint64_t id;  // unique for the life of the process (CLIENT ID)
  protocol::RequestParser parser;
  std::string out;            // reply bytes not yet written to the socket
  size_t request_bytes = 0;   // bytes fed into the request being parsed (bounded by config)
  bool closing = false;       // close once `out` is written (QUIT, protocol error, EOF)
  bool reading = true;        // EPOLLIN armed (off while `out` is too large)
  bool writing = false;       // EPOLLOUT armed
  bool pending = false;       // queued in the server's list of connections with output
  std::string name;           // CLIENT SETNAME
  std::string peer;           // "127.0.0.1:51234"
};

}  // namespace kv::server
