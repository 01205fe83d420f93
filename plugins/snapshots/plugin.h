// io.containerd.snapshotter.v1.overlayfs and .native: the snapshotters of snapshotter/ as
// plugins, with their TOML sections. Instances are std::shared_ptr<snapshotter::Snapshotter>.
#pragma once

#include "plugins/registry/registry.h"

namespace berth::snapshotter {

absl::Status RegisterOverlayfs(plugin::Registry& registry);
absl::Status RegisterNative(plugin::Registry& registry);

}  // namespace berth::snapshotter
