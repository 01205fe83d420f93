// berth.services.transfer.v1 messages <-> the puller's structs.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "berth/services/transfer/v1/transfer.pb.h"
#include "plugins/transfer/puller.h"

namespace berth::services::transfer_convert {

// InvalidArgument for an empty reference or a platform without os/architecture.
absl::StatusOr<::berth::transfer::PullOptions> FromProto(const ::berth::services::transfer::v1::PullRequest& req);

void ToProto(const std::vector<::berth::transfer::ProgressItem>& items,
             ::berth::services::transfer::v1::Progress* out);

void ToProto(const ::berth::transfer::PullResult& result, ::berth::services::transfer::v1::Progress* out);

}  // namespace berth::services::transfer_convert
