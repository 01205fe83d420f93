// Registers the CRI as io.containerd.grpc.v1.cri: its config is containerd 1.6's CRI section
// (cri/config.h), it serves runtime.v1.RuntimeService and runtime.v1.ImageService on berthd's
// socket, in namespace "k8s.io". Requires metadata, the containers core, the runtime manager
// and (when built) the transfer puller for PullImage.
#pragma once

#include "plugins/registry/registry.h"

namespace berth::cri {

inline constexpr char kCriPluginId[] = "cri";

absl::Status RegisterCriPlugin(plugin::Registry& registry);

}  // namespace berth::cri
