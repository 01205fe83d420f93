// ListPodSandbox / ListContainers filters (CRI: every set field must match; ids match exactly
// or as a prefix, as crictl passes truncated ids; label_selector entries must all be equal).
#pragma once

#include <map>
#include <string>

#include "cri/store.h"

namespace berth::cri {

bool MatchLabels(const google::protobuf::Map<std::string, std::string>& selector,
                 const google::protobuf::Map<std::string, std::string>& labels);
bool MatchSandbox(const ::runtime::v1::PodSandboxFilter& f, const SandboxRecord& r);
bool MatchContainer(const ::runtime::v1::ContainerFilter& f, const ContainerRecord& r);

}  // namespace berth::cri
