// containerd.services.images.v1.Images (io.containerd.grpc.v1.images).
#pragma once

#include "plugins/registry/registry.h"

namespace berth::services {

absl::Status RegisterImagesService(plugin::Registry& registry);

}  // namespace berth::services
