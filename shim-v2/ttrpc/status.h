// absl::Status <-> google.rpc.Status. absl's canonical codes have the same numbers as gRPC's,
// which is what ttrpc puts on the wire.
#pragma once

#include "absl/status/status.h"
#include "google/rpc/status.pb.h"

namespace berth::ttrpc {

google::rpc::Status ToRpcStatus(const absl::Status& status);
absl::Status FromRpcStatus(const google::rpc::Status& status);

}  // namespace berth::ttrpc
