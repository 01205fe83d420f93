// containerd.services.tasks.v1.Tasks (io.containerd.grpc.v1.tasks): every RPC maps onto the
// task's shim (containerd.task.v2.Task) through the runtime manager (shim-v2/manager); Create
// takes the spec and runtime from the container record (plugins/containers). Events come from
// the shims themselves (create, start, exit, delete, exec-*, paused, resumed, oom), as in
// containerd 1.6. Checkpoint is Unimplemented.
#pragma once

#include "plugins/registry/registry.h"

namespace berth::services {

absl::Status RegisterTasksService(plugin::Registry& registry);

}  // namespace berth::services
