// Registers the containers core as io.containerd.service.v1.containers-service (requires the
// metadata and event plugins). Users: ctx.GetById<containers::ContainerStore>(kService,
// kContainersServiceId).
#pragma once

#include "plugins/registry/registry.h"

namespace berth::containers {

inline constexpr char kContainersServiceId[] = "containers-service";

absl::Status RegisterContainersCore(plugin::Registry& registry);

}  // namespace berth::containers
