// PeerLink: this node's outbound connection to one other member of the Raft group, on the
// node's event loop. It carries two kinds of traffic to the peer's ordinary RESP port:
//   KVPEER <secret> <our id>   once per connection, first: proves we are a member
//   KVRAFT <message bytes>     Raft messages (message_codec.h); the peer sends no reply
//   <any client command>       a command forwarded to the leader; its reply comes back in
//                              order and is handed, as raw RESP bytes, to a callback
// Raft messages are fire-and-forget (Raft tolerates loss, so they are dropped while the link
// is down or too far behind). Forwarded commands are never dropped silently: each callback
// runs exactly once, with the reply or with a failure. Reconnects with a short backoff.
// Single-threaded: owned by the RaftHost, runs on the loop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "net/event_loop.h"
#include "server/config.h"

namespace kv::server {

class PeerLink {
 public:
  // How a forwarded command ended: its reply came back; the link failed before any of its
  // bytes were written (certainly not executed); or it failed after (outcome unknown).
  enum class Outcome { kReply, kNotSent, kLost };
  // Called once per forwarded command; `reply` is the raw RESP reply for kReply.
  using ReplyCallback = std::function<void(Outcome outcome, std::string_view reply)>;

  PeerLink(net::EventLoop* loop, PeerAddress peer, uint64_t self_id, std::string secret);
  ~PeerLink();
  PeerLink(const PeerLink&) = delete;
  PeerLink& operator=(const PeerLink&) = delete;

  // Queues a Raft message; dropped when the link is down.
  void send_raft(std::string_view encoded_message);
  // Queues a client command for the peer to execute. False (callback not kept) when the
  // link is down and cannot be used now: the command was certainly not sent.
  bool forward(const std::vector<std::string>& args, ReplyCallback callback);
  // Writes what is queued (the server's pre-sleep hook calls this once per loop turn).
  void flush();
  // Closes the connection for good (the peer left the configuration): forwarded commands
  // still waiting fail now, as if the link dropped.
  void shut_down() { close_link(nullptr); }

  const PeerAddress& peer() const { return peer_; }
  bool connected() const { return state_ == State::kConnected; }
  // Forwarded commands are waiting for their replies on this link.
  bool busy() const { return !expected_.empty(); }

 private:
  enum class State { kDown, kConnecting, kConnected };
  struct Expected {
    bool auth = false;  // the KVPEER reply
    ReplyCallback callback;
    uint64_t begin = 0;  // offset of the command's first byte in this connection's stream
  };

  bool ensure_connecting();  // true when connecting or connected
  void on_event(uint32_t events);
  void on_connected();
  void on_readable();
  void write_some();
  void close_link(const char* why);
  void update_interest();

  net::EventLoop* loop_;
  PeerAddress peer_;
  uint64_t self_id_;
  std::string secret_;
  State state_ = State::kDown;
  int fd_ = -1;
  std::string out_;
  std::string in_;
  uint64_t written_ = 0;  // bytes written to the socket on this connection (stream offset of out_[0])
  std::deque<Expected> expected_;  // replies still to come, in order
  bool want_write_ = false;
  std::chrono::steady_clock::time_point next_attempt_{};
  bool warned_ = false;   // one warning per outage, not one per retry
  bool refused_ = false;  // the peer refused our KVPEER; logged once until it accepts
};

}  // namespace kv::server
