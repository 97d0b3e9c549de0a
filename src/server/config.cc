#include "server/config.h"

namespace kv::server {

std::string_view fsync_policy_name(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::kAlways:
      return "always";
    case FsyncPolicy::kEverySec:
      return "everysec";
    case FsyncPolicy::kNo:
      return "no";
  }
  return "?";
}

std::optional<FsyncPolicy> parse_fsync_policy(std::string_view name) {
  if (name == "always") return FsyncPolicy::kAlways;
  if (name == "everysec") return FsyncPolicy::kEverySec;
  if (name == "no") return FsyncPolicy::kNo;
  return std::nullopt;
}

}  // namespace kv::server

namespace kv::server {

std::string parse_peers(std::string_view text, std::vector<PeerAddress>* out) {
  std::vector<PeerAddress> peers;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const std::string shown(item);
    size_t eq = item.find('=');
    size_t colon = item.rfind(':');
    if (eq == std::string_view::npos || colon == std::string_view::npos || colon < eq) {
      return "peer '" + shown + "' is not id=host:port";
    }
    PeerAddress p;
    std::string_view id = item.substr(0, eq);
    std::string_view host = item.substr(eq + 1, colon - eq - 1);
    std::string_view port = item.substr(colon + 1);
    auto parse_number = [](std::string_view digits, uint64_t max, uint64_t* value) {
      if (digits.empty() || digits.size() > 19) return false;
      uint64_t v = 0;
      for (char c : digits) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
      }
      if (v == 0 || v > max) return false;
      *value = v;
      return true;
    };
    uint64_t port_value = 0;
    if (!parse_number(id, UINT32_MAX, &p.id)) return "peer '" + shown + "': id must be a number >= 1";
    if (host.empty()) return "peer '" + shown + "': host is empty";
    if (!parse_number(port, 65535, &port_value)) return "peer '" + shown + "': port must be 1-65535";
    p.host = std::string(host);
    p.port = static_cast<uint16_t>(port_value);
    for (const auto& q : peers) {
      if (q.id == p.id) return "peer id " + std::to_string(p.id) + " is listed twice";
      if (q.host == p.host && q.port == p.port) return "peer address " + p.addr() + " is listed twice";
    }
    peers.push_back(std::move(p));
  }
  if (peers.empty()) return "the peer list is empty";
  *out = std::move(peers);
  return "";
}

}  // namespace kv::server
