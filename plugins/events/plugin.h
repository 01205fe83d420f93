// Registers the events exchange as io.containerd.event.v1.exchange. Other plugins require
// plugin::kEvent and get a std::shared_ptr<events::Exchange> (which is a Publisher).
#pragma once

#include "plugins/registry/registry.h"

namespace berth::events {

absl::Status RegisterEventsExchange(plugin::Registry& registry);

}  // namespace berth::events
