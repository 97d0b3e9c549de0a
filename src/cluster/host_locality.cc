#include "cluster/host_locality.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>

namespace kv::cluster {
namespace {

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string ntop(int family, const void* addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  return ::inet_ntop(family, addr, buf, sizeof(buf)) != nullptr ? std::string(buf) : "";
}

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as its IPv4 text; else the IPv6 text.
std::string canonical_v6(const in6_addr& a6) {
  if (IN6_IS_ADDR_V4MAPPED(&a6)) return ntop(AF_INET, &a6.s6_addr[12]);
  return ntop(AF_INET6, &a6);
}

std::string canonical_sockaddr(const sockaddr* sa) {
  if (sa == nullptr) return "";
  if (sa->sa_family == AF_INET) {
    return ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr);
  }
  if (sa->sa_family == AF_INET6) {
    return canonical_v6(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr);
  }
  return "";
}

// A numeric host, or a lowercased name: what the override list and a node's host compare as.
std::string comparable(const std::string& host) {
  std::string numeric = canonical_address(host);
  return numeric.empty() ? lowercase(host) : numeric;
}

}  // namespace

std::string canonical_address(const std::string& text) {
  in_addr a4{};
  if (::inet_pton(AF_INET, text.c_str(), &a4) == 1) return ntop(AF_INET, &a4);
  in6_addr a6{};
  if (::inet_pton(AF_INET6, text.c_str(), &a6) == 1) return canonical_v6(a6);
  return "";
}

bool is_loopback_or_wildcard(const std::string& host) {
  if (lowercase(host) == "localhost") return true;
  std::string a = canonical_address(host);
  return a == "0.0.0.0" || a == "::" || a == "::1" || a.rfind("127.", 0) == 0;
}

HostLocality::HostLocality(std::vector<std::string> addresses, std::string hostname)
    : hostname_(lowercase(std::move(hostname))) {
  for (const auto& a : addresses) {
    std::string c = canonical_address(a);
    if (!c.empty()) addresses_.push_back(c);
  }
}

HostLocality HostLocality::detect() {
  std::vector<std::string> addresses;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) == 0) {
    for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
      std::string a = canonical_sockaddr(i->ifa_addr);
      if (!a.empty() && std::find(addresses.begin(), addresses.end(), a) == addresses.end()) {
        addresses.push_back(a);
      }
    }
    ::freeifaddrs(list);
  }
  char name[HOST_NAME_MAX + 1] = {};
  std::string hostname = ::gethostname(name, sizeof(name) - 1) == 0 ? name : "";
  return HostLocality(std::move(addresses), std::move(hostname));
}

HostLocality HostLocality::only(std::vector<std::string> hosts) {
  HostLocality l;
  l.overridden_ = true;
  for (const auto& h : hosts) l.addresses_.push_back(comparable(h));
  return l;
}

Result<HostLocality> HostLocality::parse_list(std::string_view list) {
  std::vector<std::string> hosts;
  size_t start = 0;
  for (;;) {
    size_t comma = list.find(',', start);
    std::string item(list.substr(start, comma == std::string_view::npos ? comma : comma - start));
    while (!item.empty() && item.back() == ' ') item.pop_back();
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    if (item.empty()) {
      return Status::InvalidArgument(fmt::format(
          "local hosts '{}': an empty item (expected HOST[,HOST...], e.g. 127.0.0.1,10.0.0.1)",
          list));
    }
    hosts.push_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return only(std::move(hosts));
}

bool HostLocality::is_local_address(const std::string& canonical) const {
  if (is_loopback_or_wildcard(canonical)) return true;
  return std::find(addresses_.begin(), addresses_.end(), canonical) != addresses_.end();
}

bool HostLocality::is_local(const std::string& host) const {
  std::string key = comparable(host);
  if (overridden_) return std::find(addresses_.begin(), addresses_.end(), key) != addresses_.end();
  if (is_loopback_or_wildcard(host)) return true;
  if (!canonical_address(host).empty()) return is_local_address(key);
  if (!hostname_.empty()) {
    std::string short_name = hostname_.substr(0, hostname_.find('.'));
    if (key == hostname_ || key == short_name) return true;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return false;
  bool local = false;
  for (addrinfo* ai = res; ai != nullptr && !local; ai = ai->ai_next) {
    std::string a = canonical_sockaddr(ai->ai_addr);
    local = !a.empty() && is_local_address(a);
  }
  ::freeaddrinfo(res);
  return local;
}

Result<HostLocality> locality_for(std::string_view list) {
  if (list.empty()) return HostLocality::detect();
  return HostLocality::parse_list(list);
}

std::set<int> local_node_ids(const ClusterConfig& config, const HostLocality& locality) {
  std::set<int> ids;
  for (const auto& node : config.nodes) {
    if (locality.is_local(node.host)) ids.insert(node.id);
  }
  return ids;
}

std::vector<std::string> locality_warnings(const ClusterConfig& config,
                                           const std::set<int>& local_ids) {
  std::vector<std::string> warnings;
  if (!config.raft()) return warnings;
  const NodeSpec* remote = nullptr;
  for (const auto& n : config.nodes) {
    if (local_ids.count(n.id) == 0 && !is_loopback_or_wildcard(n.host)) remote = &n;
  }
  if (remote == nullptr) return warnings;
  for (const auto& n : config.nodes) {
    if (!is_loopback_or_wildcard(n.host)) continue;
    warnings.push_back(fmt::format(
        "warning: {}'s host {} cannot be reached from {}'s machine ({}): give {} in cluster.json "
        "an address the other machines can reach",
        n.name, n.host, remote->name, remote->host, n.name));
  }
  return warnings;
}

std::string HostLocality::describe() const {
  std::string list;
  for (const auto& a : addresses_) list += (list.empty() ? "" : overridden_ ? "," : ", ") + a;
  if (overridden_) return "--local-hosts " + list;
  if (list.empty()) list = "no interface addresses";
  return hostname_.empty() ? list : fmt::format("{} (host {})", list, hostname_);
}

}  // namespace kv::cluster
