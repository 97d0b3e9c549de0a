// Non-blocking TCP connect for the supervisor's conversations with nodes (RespExchange, used
// by HealthProbe and AdminCall), which run on the event loop and must never block it on a
// slow peer.
// Stateless.
#pragma once

#include <cstdint>
#include <string>

namespace kv::cluster {

// Starts a non-blocking connect to host:port. Returns the fd (SOCK_NONBLOCK | SOCK_CLOEXEC;
// the connect may still be in progress: wait for EPOLLOUT, then read SO_ERROR) or -1 with
// *error set. Numeric hosts need no lookup; names use getaddrinfo (blocking, but local).
int start_connect(const std::string& host, uint16_t port, std::string* error);

}  // namespace kv::cluster
