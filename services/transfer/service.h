// berth.services.transfer.v1.Transfer (io.containerd.grpc.v1.transfer) over the puller:
// Pull, Import, Export and Push stream Progress; the last message has `done` and the images.
#pragma once

#include "plugins/registry/registry.h"

namespace berth::services {

absl::Status RegisterTransferService(plugin::Registry& registry);

}  // namespace berth::services
