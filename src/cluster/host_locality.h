// HostLocality: which cluster.json hosts are this machine. kvcluster starts the nodes on local
// hosts and only probes the others ("remote"), so one cluster.json can describe a cluster
// spread over several machines, each running its own `kvcluster up`.
// Local: loopback (127.0.0.0/8, ::1, "localhost"), the wildcards 0.0.0.0 and ::, an address of
// one of this machine's interfaces (getifaddrs), this machine's hostname, or a name that
// resolves to any of those. For tests (and odd setups) an explicit list replaces all of that:
// --local-hosts / KVCLUSTER_LOCAL_HOSTS. Value type; is_local() may call getaddrinfo (blocking).
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/cluster_config.h"
#include "common/status.h"

namespace kv::cluster {

inline constexpr const char* kLocalHostsEnvVar = "KVCLUSTER_LOCAL_HOSTS";

class HostLocality {
 public:
  // This machine as the kernel describes it: interface addresses and hostname.
  static HostLocality detect();
  // Exactly these hosts are local (compared as addresses when numeric, else by name,
  // case-insensitively); nothing is detected or resolved. Used for --local-hosts.
  static HostLocality only(std::vector<std::string> hosts);
  // The comma-separated list of --local-hosts. InvalidArgument for an empty list or item.
  static Result<HostLocality> parse_list(std::string_view list);
  // A machine with these interface addresses (numeric) and hostname; for tests.
  HostLocality(std::vector<std::string> addresses, std::string hostname);

  bool is_local(const std::string& host) const;
  // For messages: "127.0.0.1, 192.0.2.2, ::1 (host db1)" or "--local-hosts 10.0.0.1".
  std::string describe() const;
  bool overridden() const { return overridden_; }

 private:
  HostLocality() = default;
  bool is_local_address(const std::string& canonical) const;

  bool overridden_ = false;
  std::vector<std::string> addresses_;  // canonical numeric form (inet_ntop), or lowercase names
  std::string hostname_;                // lowercase; empty when unknown
};

// What --local-hosts (or KVCLUSTER_LOCAL_HOSTS) asks for: parse_list(list), or detect() when
// list is empty (not given).
Result<HostLocality> locality_for(std::string_view list);

// The ids of config's nodes whose host is local: the ones this machine's kvcluster runs.
std::set<int> local_node_ids(const ClusterConfig& config, const HostLocality& locality);

// Raft mode: nodes whose host only means "this machine" (127.0.0.1, localhost, 0.0.0.0, ...)
// while another node runs elsewhere and would have to reach them there. One line each:
// "node1's host 127.0.0.1 cannot be reached from node3's machine (10.0.0.3): ...".
std::vector<std::string> locality_warnings(const ClusterConfig& config,
                                           const std::set<int>& local_ids);

// The numeric address in canonical form ("::1" for "0:0::1", "10.0.0.1" for "::ffff:10.0.0.1"),
// or "" when text is not a numeric address. Pure.
std::string canonical_address(const std::string& text);
// 127.0.0.0/8, ::1, "localhost" (any case), 0.0.0.0, :: : addresses that mean "this machine"
// on every machine, so no other machine can reach a node through them. Pure.
bool is_loopback_or_wildcard(const std::string& host);

}  // namespace kv::cluster
