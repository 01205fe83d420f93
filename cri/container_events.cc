// CRI container events (GetContainerEvents): each lifecycle change publishes the container's
// event with the pod's status and all its containers' statuses, as containerd's generic PLEG
// events do, so kubelet's evented PLEG needs no relist.
#include "cri/runtime.h"

namespace berth::cri {

void CriRuntime::PublishEvent(const std::string& container_id, const std::string& sandbox_id,
                              v1::ContainerEventType type) {
  if (events_.subscribers() == 0) return;  // nobody listens: skip building the statuses
  v1::ContainerEventResponse ev;
  ev.set_container_id(container_id);
  ev.set_container_event_type(type);
  ev.set_created_at(NowNanos());
  if (!sandbox_id.empty()) {
    if (auto sb = store_.GetSandbox(sandbox_id); sb.ok()) {
      FillSandboxStatus(*sb, ev.mutable_pod_sandbox_status());
    }
    for (const auto& r : store_.Containers()) {
      if (r.sandbox_id == sandbox_id) FillContainerStatus(r, ev.add_containers_statuses());
    }
  }
  events_.Publish(ev);
}

}  // namespace berth::cri
