// The one place where Berth's absl::Status becomes a gRPC status (and back, for clients).
// absl and gRPC share canonical code numbers, which is also how containerd's errdefs map.
#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace berth::services {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace berth::services
