// io.containerd.gc.v1.scheduler: the garbage collector over the metadata plugin's stores.
#pragma once

#include "plugins/gc/collector.h"
#include "plugins/registry/registry.h"

namespace berth::gc {

// Registers the plugin; its instance is a std::shared_ptr<gc::Collector>.
absl::Status RegisterGcScheduler(plugin::Registry& registry);

}  // namespace berth::gc
