// The control socket between `kvcluster up` and the other commands: a unix stream socket at
// <state_dir>/control.sock carrying one newline-terminated JSON request and one
// newline-terminated JSON reply per connection:
//   {"cmd":"status"}                 -> {"ok":true,"nodes":[...],"supervisor":{...}}
//   {"cmd":"reload"}                 -> {"ok":true,"message":"reloaded: +node4"} |
//   {"ok":false,"error":...}
//   {"cmd":"restart","node":"node2"} -> {"ok":true,"message":"restarting node2"}
//   {"cmd":"restart"}                -> (raft mode: rolling restart) the reply comes once it is
//                                       over: {"ok":true,"message":"rolling restart done: ..."}
//   {"cmd":"down"}                   -> {"ok":true,...}, then the connection stays open until
//                                       the supervisor has exited (EOF = fully stopped)
// This file holds the client side and the address helpers both sides use. Stateless.
#pragma once

#include <sys/un.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace kv::cluster {

std::string control_socket_path(const std::string& state_dir);

// A sockaddr_un for path. Paths longer than sun_path go through /proc/self/fd/N/<name>, with
// N an O_PATH fd of the directory that *dir_fd receives (close it after bind/connect).
Status unix_address(const std::string& path, sockaddr_un* addr, socklen_t* len, int* dir_fd);

// Sends one request and returns the reply. NotFound when no supervisor listens (no socket,
// or nobody accepting); IOError for a broken exchange.
Result<nlohmann::json> control_request(const std::string& socket_path,
                                       const nlohmann::json& request,
                                       std::chrono::milliseconds timeout);
// Like control_request, then waits (up to wait) for the supervisor to close the connection.
// Returns the reply; *closed says whether EOF came in time.
Result<nlohmann::json> control_request_and_wait(const std::string& socket_path,
                                                const nlohmann::json& request,
                                                std::chrono::milliseconds timeout,
                                                std::chrono::milliseconds wait, bool* closed);

}  // namespace kv::cluster
