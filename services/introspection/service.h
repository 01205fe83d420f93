// containerd.services.introspection.v1.Introspection (io.containerd.grpc.v1.introspection):
// every plugin with its status (Plugins, with filters on type/id/capabilities), and the
// daemon's UUID (Server), created once and kept in the plugin's root directory.
#pragma once

#include "plugins/registry/registry.h"

namespace berth::services {

// `registry` must outlive the service: Plugins() reads its statuses at call time.
absl::Status RegisterIntrospectionService(plugin::Registry& registry);

}  // namespace berth::services
