// berth.services.transfer.v1.Transfer (io.containerd.grpc.v1.transfer) over the puller:
// Pull streams Progress until the image is created. Import / Export are not implemented yet
// (Unimplemented).
#pragma once

#include "plugins/registry/registry.h"

namespace berth::services {

absl::Status RegisterTransferService(plugin::Registry& registry);

}  // namespace berth::services
