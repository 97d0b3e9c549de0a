// RemoteNodes: the nodes of cluster.json that live on other machines (see host_locality.h).
// kvcluster runs no process for them; it probes each one (PING + INFO on host:port, every
// probe interval, on the event loop) so that `status` can show it as `remote` with what it
// reports (role, term, leader, ...) and count it in the cluster's health. The stream says when
// a remote node first answers, stops answering (probe.failures misses in a row) and answers
// again. Owned by the Supervisor; single-threaded (the loop's thread).
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cluster/cluster_config.h"
#include "cluster/health_probe.h"
#include "cluster/output_mux.h"
#include "net/event_loop.h"

namespace kv::cluster {

class RemoteNodes {
 public:
  RemoteNodes(net::EventLoop* loop, OutputMux* mux);
  ~RemoteNodes();
  RemoteNodes(const RemoteNodes&) = delete;
  RemoteNodes& operator=(const RemoteNodes&) = delete;

  // Watches exactly these nodes from now on (by id): new ones are probed at once, dropped ones
  // forgotten, ones whose host or port changed start over; the rest keep what they know.
  void set(const std::vector<NodeSpec>& specs, const ProbeSettings& probe);
  bool contains(int id) const { return nodes_.count(id) != 0; }
  // The node's row of the status document: state "remote", "answering", the INFO fields.
  // REQUIRES: contains(id).
  nlohmann::json node_json(int id) const;

 private:
  struct Remote {
    NodeSpec spec;
    std::unique_ptr<HealthProbe> probe;
    uint64_t timer = 0;
    bool answering = false;  // answered, and has not missed probe.failures probes since
    bool reported_down = false;
    int failures = 0;  // consecutive missed probes
    std::string error;
    std::map<std::string, std::string> info;  // from the last answer
  };

  void start_probe(Remote& r);
  void on_probe(Remote& r, ProbeResult result);
  void forget(Remote& r);
  std::string where(const Remote& r) const;

  net::EventLoop* loop_;
  OutputMux* mux_;
  ProbeSettings probe_;
  std::map<int, std::unique_ptr<Remote>> nodes_;
};

}  // namespace kv::cluster
