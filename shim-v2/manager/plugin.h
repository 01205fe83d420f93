// Registers the runtime manager as io.containerd.runtime.v2.task (requires the events exchange
// and the daemon's ttrpc endpoint, which shims publish to). On init it re-attaches to the shims
// of existing bundles. Users: ctx.Get<runtime::TaskManager>(plugin::kRuntime).
#pragma once

#include "plugins/registry/registry.h"

namespace berth::runtime {

absl::Status RegisterTaskManager(plugin::Registry& registry);

}  // namespace berth::runtime
