// containerd.services.version.v1.Version (io.containerd.grpc.v1.version).
#pragma once

#include "plugins/registry/registry.h"

namespace berth::services {

absl::Status RegisterVersionService(plugin::Registry& registry);

}  // namespace berth::services
