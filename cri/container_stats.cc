// ContainerStats / PodSandboxStats (and their List forms) and the CRI metrics, from cgroupfs
// (cri/stats.h), the snapshotter (writable layer) and the pod's netns (network).
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "cri/filters.h"
#include "cri/runtime.h"
#include "cri/stats.h"

namespace berth::cri {
namespace {

// The pod's default interface (CNI attaches eth0, cri/sandbox.cc).
constexpr char kDefaultInterface[] = "eth0";

struct MetricSpec {
  const char* name;
  const char* help;
  v1::MetricType type;
};

// The container-level set kubelet's /metrics/cadvisor needs most (names as cadvisor's).
const MetricSpec kContainerMetrics[] = {
    {"container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", v1::COUNTER},
    {"container_memory_usage_bytes",
     "Current memory usage in bytes, including all memory regardless of when it was accessed",
     v1::GAUGE},
    {"container_memory_working_set_bytes", "Current working set in bytes.", v1::GAUGE},
    {"container_memory_rss", "Size of RSS in bytes.", v1::GAUGE},
    {"container_oom_events_total", "Count of out of memory events observed for the container",
     v1::COUNTER},
    {"container_processes", "Number of processes running inside the container.", v1::GAUGE},
};
const MetricSpec kNetworkMetrics[] = {
    {"container_network_receive_bytes_total", "Cumulative count of bytes received", v1::COUNTER},
    {"container_network_receive_errors_total",
     "Cumulative count of errors encountered while receiving", v1::COUNTER},
    {"container_network_transmit_bytes_total", "Cumulative count of bytes transmitted",
     v1::COUNTER},
    {"container_network_transmit_errors_total",
     "Cumulative count of errors encountered while transmitting", v1::COUNTER},
};
// cadvisor's labels for container series; the network series add "interface".
const char* kContainerLabels[] = {"container", "id", "image", "name", "namespace", "pod"};

void AddMetric(const char* name, v1::MetricType type, int64_t ts, std::vector<std::string> labels,
               uint64_t value, google::protobuf::RepeatedPtrField<v1::Metric>* out) {
  auto* m = out->Add();
  m->set_name(name);
  m->set_timestamp(ts);
  m->set_metric_type(type);
  for (auto& l : labels) m->add_label_values(std::move(l));
  m->mutable_value()->set_value(value);
}

}  // namespace

std::string CriRuntime::CgroupsPath(const std::string& container_id) {
  auto c = deps_.containers->Get(ns_, container_id);
  return c.ok() ? SpecCgroupsPath(c->spec.value()) : "";
}

absl::Status CriRuntime::ContainerStats(const std::string& id, v1::ContainerStats* out) {
  BERTH_ASSIGN_OR_RETURN(ContainerRecord r, store_.GetContainer(id));
  auto* attrs = out->mutable_attributes();
  attrs->set_id(r.id);
  *attrs->mutable_metadata() = r.config.metadata();
  *attrs->mutable_labels() = r.config.labels();
  *attrs->mutable_annotations() = r.config.annotations();
  int64_t now = NowNanos();
  out->mutable_cpu()->set_timestamp(now);
  out->mutable_memory()->set_timestamp(now);
  out->mutable_writable_layer()->set_timestamp(now);
  if (auto c = deps_.containers->Get(ns_, r.id); c.ok()) {
    auto sn = deps_.md->snapshotters.find(c->snapshotter);
    if (sn != deps_.md->snapshotters.end()) {
      out->mutable_writable_layer()->mutable_fs_id()->set_mountpoint(deps_.root);
      if (auto u = sn->second->Usage(ns_, c->snapshot_key); u.ok()) {
        out->mutable_writable_layer()->mutable_used_bytes()->set_value(
            static_cast<uint64_t>(u->size));
        out->mutable_writable_layer()->mutable_inodes_used()->set_value(
            static_cast<uint64_t>(u->inodes));
      }
    }
    // Only a live task has a cgroup (created at start, removed with the task).
    if (r.state == v1::CONTAINER_RUNNING) {
      auto usage = ReadCgroupUsage(kCgroupRoot, SpecCgroupsPath(c->spec.value()));
      if (usage.ok()) {
        FillCpuUsage(*usage, now, out->mutable_cpu());
        FillMemoryUsage(*usage, now, out->mutable_memory());
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CriRuntime::ListContainerStats(const v1::ContainerStatsFilter* filter,
                                            v1::ListContainerStatsResponse* out) {
  v1::ContainerFilter f;
  if (filter != nullptr) {
    f.set_id(filter->id());
    f.set_pod_sandbox_id(filter->pod_sandbox_id());
    *f.mutable_label_selector() = filter->label_selector();
  }
  for (const auto& r : store_.Containers()) {
    if (!MatchContainer(f, r)) continue;
    v1::ContainerStats s;
    // A container removed meanwhile is skipped, not an error for the whole list.
    if (ContainerStats(r.id, &s).ok()) *out->add_stats() = std::move(s);
  }
  return absl::OkStatus();
}

absl::Status CriRuntime::PodSandboxStats(const std::string& id, v1::PodSandboxStats* out) {
  BERTH_ASSIGN_OR_RETURN(SandboxRecord sb, store_.GetSandbox(id));
  auto* attrs = out->mutable_attributes();
  attrs->set_id(sb.id);
  *attrs->mutable_metadata() = sb.config.metadata();
  *attrs->mutable_labels() = sb.config.labels();
  *attrs->mutable_annotations() = sb.config.annotations();
  int64_t now = NowNanos();
  auto* linux = out->mutable_linux();
  CgroupUsage sum;
  bool have_sum = false;
  for (const auto& r : store_.Containers()) {
    if (r.sandbox_id != sb.id || r.state != v1::CONTAINER_RUNNING) continue;
    v1::ContainerStats cs;
    if (!ContainerStats(r.id, &cs).ok()) continue;
    if (auto u = ReadCgroupUsage(kCgroupRoot, CgroupsPath(r.id)); u.ok()) {
      sum += *u;
      have_sum = true;
    }
    *linux->add_containers() = std::move(cs);
  }
  // kubelet's cgroup_parent (e.g. /kubepods/burstable/pod<uid>) holds every container of the
  // pod and counts what already exited; "/berth" (no parent given) is shared by all pods.
  const std::string& parent = sb.config.linux().cgroup_parent();
  absl::StatusOr<CgroupUsage> usage = absl::NotFoundError("no pod cgroup");
  if (!parent.empty()) usage = ReadCgroupUsage(kCgroupRoot, parent);
  if (!usage.ok() && have_sum) usage = sum;
  linux->mutable_cpu()->set_timestamp(now);
  linux->mutable_memory()->set_timestamp(now);
  linux->mutable_process()->set_timestamp(now);
  if (usage.ok()) {
    FillCpuUsage(*usage, now, linux->mutable_cpu());
    FillMemoryUsage(*usage, now, linux->mutable_memory());
    linux->mutable_process()->mutable_process_count()->set_value(usage->pids);
  }
  if (!sb.ns.net.empty() && sb.state == v1::SANDBOX_READY) {
    auto ifaces = ReadNetnsUsage(sb.ns.net);
    if (ifaces.ok()) {
      auto* net = linux->mutable_network();
      net->set_timestamp(now);
      for (const auto& i : *ifaces) {
        if (i.name == "lo") continue;
        if (i.name == kDefaultInterface) FillInterfaceUsage(i, net->mutable_default_interface());
        FillInterfaceUsage(i, net->add_interfaces());
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CriRuntime::ListPodSandboxStats(const v1::PodSandboxStatsFilter* filter,
                                             v1::ListPodSandboxStatsResponse* out) {
  v1::PodSandboxFilter f;
  if (filter != nullptr) {
    f.set_id(filter->id());
    *f.mutable_label_selector() = filter->label_selector();
  }
  for (const auto& sb : store_.Sandboxes()) {
    if (!MatchSandbox(f, sb)) continue;
    v1::PodSandboxStats s;
    if (PodSandboxStats(sb.id, &s).ok()) *out->add_stats() = std::move(s);
  }
  return absl::OkStatus();
}

void CriRuntime::ListMetricDescriptors(v1::ListMetricDescriptorsResponse* out) {
  for (const auto& m : kContainerMetrics) {
    auto* d = out->add_descriptors();
    d->set_name(m.name);
    d->set_help(m.help);
    for (const char* l : kContainerLabels) d->add_label_keys(l);
  }
  for (const auto& m : kNetworkMetrics) {
    auto* d = out->add_descriptors();
    d->set_name(m.name);
    d->set_help(m.help);
    for (const char* l : kContainerLabels) d->add_label_keys(l);
    d->add_label_keys("interface");
  }
}

absl::Status CriRuntime::ListPodSandboxMetrics(v1::ListPodSandboxMetricsResponse* out) {
  for (const auto& sb : store_.Sandboxes()) {
    if (sb.state != v1::SANDBOX_READY) continue;
    v1::PodSandboxStats stats;
    if (!PodSandboxStats(sb.id, &stats).ok()) continue;
    auto* pm = out->add_pod_metrics();
    pm->set_pod_sandbox_id(sb.id);
    int64_t now = NowNanos();
    const auto& md = sb.config.metadata();
    // Pod-level series: cadvisor labels them with an empty container name and the pod's id.
    std::vector<std::string> pod_labels = {"", sb.id, "", sb.id, md.namespace_(), md.name()};
    for (const auto& i : stats.linux().network().interfaces()) {
      auto l = pod_labels;
      l.push_back(i.name());
      AddMetric(kNetworkMetrics[0].name, v1::COUNTER, now, l, i.rx_bytes().value(),
                pm->mutable_metrics());
      AddMetric(kNetworkMetrics[1].name, v1::COUNTER, now, l, i.rx_errors().value(),
                pm->mutable_metrics());
      AddMetric(kNetworkMetrics[2].name, v1::COUNTER, now, l, i.tx_bytes().value(),
                pm->mutable_metrics());
      AddMetric(kNetworkMetrics[3].name, v1::COUNTER, now, l, i.tx_errors().value(),
                pm->mutable_metrics());
    }
    for (const auto& c : store_.Containers()) {
      if (c.sandbox_id != sb.id || c.state != v1::CONTAINER_RUNNING) continue;
      auto u = ReadCgroupUsage(kCgroupRoot, CgroupsPath(c.id));
      if (!u.ok()) continue;
      auto* cm = pm->add_container_metrics();
      cm->set_container_id(c.id);
      std::vector<std::string> l = {
          c.config.metadata().name(), c.id, c.image_ref, c.id, md.namespace_(), md.name()};
      auto* ms = cm->mutable_metrics();
      // Metric values are integers: CPU seconds are truncated (the nanoseconds are in
      // ContainerStats).
      AddMetric(kContainerMetrics[0].name, v1::COUNTER, now, l, u->cpu_usage_ns / 1000000000, ms);
      AddMetric(kContainerMetrics[1].name, v1::GAUGE, now, l, u->memory_usage, ms);
      AddMetric(kContainerMetrics[2].name, v1::GAUGE, now, l, u->working_set, ms);
      AddMetric(kContainerMetrics[3].name, v1::GAUGE, now, l, u->rss, ms);
      AddMetric(kContainerMetrics[4].name, v1::COUNTER, now, l, u->oom_kills, ms);
      AddMetric(kContainerMetrics[5].name, v1::GAUGE, now, l, u->pids, ms);
    }
  }
  return absl::OkStatus();
}

absl::Status CriRuntime::UpdatePodSandboxResources(const std::string& id) {
  return store_.GetSandbox(id).status();
}

}  // namespace berth::cri
