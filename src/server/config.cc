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

namespace {

bool parse_number(std::string_view digits, uint64_t max, uint64_t* value) {
  if (digits.empty() || digits.size() > 19) return false;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v == 0 || v > max) return false;
  *value = v;
  return true;
}

}  // namespace

std::string parse_address(std::string_view text, PeerAddress* out) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return "not host:port";
  std::string_view host = text.substr(0, colon);
  uint64_t port = 0;
  if (host.empty()) return "host is empty";
  if (!parse_number(text.substr(colon + 1), 65535, &port)) return "port must be 1-65535";
  out->host = std::string(host);
  out->port = static_cast<uint16_t>(port);
  return "";
}

std::string parse_peers(std::string_view text, std::vector<PeerAddress>* out) {
  std::vector<PeerAddress> peers;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const std::string shown(item);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) return "peer '" + shown + "' is not id=host:port";
    PeerAddress p;
    if (!parse_number(item.substr(0, eq), UINT32_MAX, &p.id)) {
      return "peer '" + shown + "': id must be a number >= 1";
    }
    if (std::string why = parse_address(item.substr(eq + 1), &p); !why.empty()) {
      return "peer '" + shown + "': " + why;
    }
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
