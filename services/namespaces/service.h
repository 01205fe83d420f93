// containerd.services.namespaces.v1.Namespaces (io.containerd.grpc.v1.namespaces) over the
// metadata plugin's NamespaceStore.
#pragma once

#include "plugins/registry/registry.h"

namespace berth::services {

absl::Status RegisterNamespacesService(plugin::Registry& registry);

}  // namespace berth::services
