// containerd.services.leases.v1.Leases (io.containerd.grpc.v1.leases).
#pragma once

#include "plugins/registry/registry.h"

namespace berth::services {

absl::Status RegisterLeasesService(plugin::Registry& registry);

}  // namespace berth::services
