// berth.services.transfer.v1 messages <-> the puller's structs.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "berth/services/transfer/v1/transfer.pb.h"
#include "plugins/transfer/puller.h"

namespace berth::services::transfer_convert {

// InvalidArgument for an empty reference or a platform without os/architecture.
absl::StatusOr<::berth::transfer::PullOptions> FromProto(const ::berth::services::transfer::v1::PullRequest& req);

// InvalidArgument for an empty path (or, for export, no image).
absl::StatusOr<::berth::transfer::ImportOptions> FromProto(
    const ::berth::services::transfer::v1::ImportRequest& req);
absl::StatusOr<::berth::transfer::ExportOptions> FromProto(
    const ::berth::services::transfer::v1::ExportRequest& req);

// InvalidArgument for an empty image name or a platform without os/architecture.
absl::StatusOr<::berth::transfer::PushOptions> FromProto(
    const ::berth::services::transfer::v1::PushRequest& req);

void ToProto(const std::vector<::berth::transfer::ProgressItem>& items,
             ::berth::services::transfer::v1::Progress* out);

// The final message: done, with the images.
void ToProto(const std::vector<::berth::transfer::PullResult>& results,
             ::berth::services::transfer::v1::Progress* out);

}  // namespace berth::services::transfer_convert
