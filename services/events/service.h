// containerd.services.events.v1.Events (io.containerd.grpc.v1.events) over the events exchange,
// and containerd.services.events.ttrpc.v1.Events/Forward on berthd's ttrpc socket
// ("<grpc address>.ttrpc", plugin io.containerd.ttrpc.v1.events): shims publish there through
// TTRPC_ADDRESS, as containerd-shim-runc-v2 1.6 does.
#pragma once

#include "plugins/registry/registry.h"

namespace berth::services {

// Plugin type of ttrpc services served by the daemon itself.
inline constexpr char kTtrpcPlugin[] = "io.containerd.ttrpc.v1";

absl::Status RegisterEventsService(plugin::Registry& registry);
absl::Status RegisterTtrpcEventsService(plugin::Registry& registry);

}  // namespace berth::services
