// The list of plugins compiled into berthd, registered explicitly (no static initialisers).
#pragma once

#include "plugins/registry/registry.h"

namespace berth::daemon {

absl::Status RegisterBuiltins(plugin::Registry& registry);

}  // namespace berth::daemon
