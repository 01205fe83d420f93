// containerd.services.snapshots.v1.Snapshots (io.containerd.grpc.v1.snapshots), all 10 RPCs.
#pragma once

#include "plugins/registry/registry.h"

namespace berth::services {

absl::Status RegisterSnapshotsService(plugin::Registry& registry);

}  // namespace berth::services
