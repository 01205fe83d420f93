// containerd.services.diff.v1.Diff (io.containerd.grpc.v1.diff) over the walking differ.
#pragma once

#include "plugins/registry/registry.h"

namespace berth::services {

absl::Status RegisterDiffService(plugin::Registry& registry);

}  // namespace berth::services
