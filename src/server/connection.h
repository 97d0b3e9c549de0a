// Connection: one client's socket and its protocol state. Owned by the Server (by fd).
// Replies accumulate in `out` and leave only from the Server's pre-sleep hook, after the
// log sync that covers them.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "protocol/resp_parser.h"

namespace kv::server {

// A reply that cannot be written to `out` yet because an earlier command's reply is still
// being decided (raft mode: a write waiting for its commit, a read for ReadIndex, a command
// forwarded to the leader). Replies leave in command order.
struct ReplySlot {
  uint64_t seq = 0;
  bool done = false;
  std::string reply;
};

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
  // Raft mode.
  std::deque<ReplySlot> waiting;  // consecutive seqs; empty => replies go straight to `out`
  uint64_t next_seq = 0;
  uint64_t peer_id = 0;           // another member, authenticated by KVPEER
  bool admin = false;             // AUTH with the cluster secret: may send RAFT commands
  bool readonly = false;          // READONLY: reads served locally, possibly stale
  uint64_t last_write_index = 0;  // log index of this connection's last write (read your writes)
};

}  // namespace kv::server
