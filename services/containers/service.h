// containerd.services.containers.v1.Containers (io.containerd.grpc.v1.containers) over the
// containers core (plugins/containers).
#pragma once

#include "plugins/registry/registry.h"

namespace berth::services {

absl::Status RegisterContainersService(plugin::Registry& registry);

}  // namespace berth::services
