// containerd.services.content.v1.Content (io.containerd.grpc.v1.content) over the namespaced
// content store (plugins/content).
#pragma once

#include "plugins/registry/registry.h"

namespace berth::services {

absl::Status RegisterContentService(plugin::Registry& registry);

}  // namespace berth::services
