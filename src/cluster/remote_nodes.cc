#include "cluster/remote_nodes.h"

#include <fmt/format.h>

#include "cluster/status_view.h"

namespace kv::cluster {

RemoteNodes::RemoteNodes(net::EventLoop* loop, OutputMux* mux) : loop_(loop), mux_(mux) {}

RemoteNodes::~RemoteNodes() {
  for (auto& [id, r] : nodes_) forget(*r);
}

void RemoteNodes::forget(Remote& r) {
  r.probe.reset();
  if (r.timer != 0) loop_->cancel_timer(r.timer);
  r.timer = 0;
}

std::string RemoteNodes::where(const Remote& r) const {
  return fmt::format("{} on {}:{} (another machine)", r.spec.name, r.spec.host, r.spec.port);
}

void RemoteNodes::set(const std::vector<NodeSpec>& specs, const ProbeSettings& probe) {
  probe_ = probe;
  std::map<int, std::unique_ptr<Remote>> next;
  for (const auto& spec : specs) {
    auto it = nodes_.find(spec.id);
    if (it != nodes_.end() && it->second->spec.host == spec.host &&
        it->second->spec.port == spec.port) {
      it->second->spec = spec;
      next[spec.id] = std::move(it->second);
      continue;
    }
    auto r = std::make_unique<Remote>();
    r->spec = spec;
    mux_->add_name(spec.name);
    next[spec.id] = std::move(r);
  }
  for (auto& [id, r] : nodes_) {
    if (r) forget(*r);  // dropped, or moved: its probes are for the old address
  }
  nodes_ = std::move(next);
  for (auto& [id, r] : nodes_) {
    if (!r->probe && r->timer == 0) start_probe(*r);
  }
}

void RemoteNodes::start_probe(Remote& r) {
  Remote* node = &r;
  r.probe = std::make_unique<HealthProbe>(loop_, ClusterConfig::probe_host(r.spec), r.spec.port,
                                          probe_.timeout,
                                          [this, node](ProbeResult res) { on_probe(*node, res); });
}

void RemoteNodes::on_probe(Remote& r, ProbeResult result) {
  r.probe.reset();  // allowed: the probe's callback may destroy it
  if (result.ok) {
    if (!r.answering) {
      std::string role = result.info.count("role") ? result.info.at("role") : "";
      std::string term = result.info.count("term") ? result.info.at("term") : "";
      mux_->event(fmt::format("{} is answering{}{}", where(r), r.reported_down ? " again" : "",
                              role.empty() ? "" : fmt::format(" ({}, term {})", role, term)),
                  r.spec.name);
    }
    r.answering = true;
    r.reported_down = false;
    r.failures = 0;
    r.error.clear();
    r.info = std::move(result.info);
  } else {
    r.failures++;
    r.error = result.error;
    if (r.failures >= probe_.failures && !r.reported_down) {
      mux_->event(fmt::format("{} is not answering: {}", where(r), r.error), r.spec.name);
      r.reported_down = true;
      r.answering = false;
      r.info.clear();
    }
  }
  Remote* node = &r;
  r.timer = loop_->run_after(probe_.interval, [this, node] {
    node->timer = 0;
    start_probe(*node);
  });
}

nlohmann::json RemoteNodes::node_json(int id) const {
  const Remote& r = *nodes_.at(id);
  nlohmann::json j = node_spec_json(r.spec);
  j["pid"] = nullptr;
  j["state"] = "remote";
  j["remote"] = true;
  j["answering"] = r.answering;
  j["uptime_s"] = nullptr;
  if (r.answering) {
    if (auto it = r.info.find("uptime_in_seconds"); it != r.info.end()) {
      try {
        j["uptime_s"] = std::stoll(it->second);
      } catch (...) {
      }
    }
  }
  j["restarts"] = nullptr;
  j["last_exit"] = nullptr;
  if (!r.error.empty()) j["probe_error"] = r.error;
  j["info"] = shown_info(r.info);
  return j;
}

}  // namespace kv::cluster
