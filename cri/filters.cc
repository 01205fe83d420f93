#include "core/status_macros.h"
#include "cri/filters.h"

#include "absl/strings/match.h"

namespace berth::cri {

bool MatchLabels(const google::protobuf::Map<std::string, std::string>& selector,
                 const google::protobuf::Map<std::string, std::string>& labels) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

bool MatchSandbox(const ::runtime::v1::PodSandboxFilter& f, const SandboxRecord& r) {
  if (!f.id().empty() && !absl::StartsWith(r.id, f.id())) return false;
  if (f.has_state() && f.state().state() != r.state) return false;
  return MatchLabels(f.label_selector(), r.config.labels());
}

bool MatchContainer(const ::runtime::v1::ContainerFilter& f, const ContainerRecord& r) {
  if (!f.id().empty() && !absl::StartsWith(r.id, f.id())) return false;
  if (!f.pod_sandbox_id().empty() && !absl::StartsWith(r.sandbox_id, f.pod_sandbox_id())) return false;
  if (f.has_state() && f.state().state() != r.state) return false;
  return MatchLabels(f.label_selector(), r.config.labels());
}

}  // namespace berth::cri
