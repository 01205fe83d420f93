// Daemon-side image transfers (Berth's berth.services.transfer.v1.Transfer): pulls from and
// pushes to a registry and imports of archives, each reporting a stream of progress.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "berth/services/transfer/v1/transfer.grpc.pb.h"
#include "client/connection.h"

namespace berth::client {

namespace xferpb = ::berth::services::transfer::v1;

using ProgressCallback = std::function<void(const xferpb::Progress&)>;

class Transfer {
 public:
  explicit Transfer(std::shared_ptr<Connection> conn);

  // Pulls req.reference(); `progress` sees every Progress message (per-layer state and bytes).
  // Returns the images created. Errors: the registry's (NotFound for an unknown reference,
  // Unauthenticated/PermissionDenied for auth, Unavailable for an unreachable registry),
  // Unimplemented when the daemon has no transfer service.
  absl::StatusOr<std::vector<xferpb::Progress::ImageResult>> Pull(
      const xferpb::PullRequest& req, const ProgressCallback& progress,
      const CallOptions& call = {});
  // Imports an archive at a path on the daemon's host (OCI layout tar or docker save).
  absl::StatusOr<std::vector<xferpb::Progress::ImageResult>> Import(
      const xferpb::ImportRequest& req, const ProgressCallback& progress,
      const CallOptions& call = {});
  // Pushes local image req.image() to req.remote() (or its own name) on a registry; `progress`
  // sees per-blob states (checking, uploading with bytes, exists, mounted, done). Returns one
  // image: the remote name and the pushed descriptor. Errors: NotFound (no such image, or a
  // blob it needs is not in the daemon's content store: the message names it),
  // Unauthenticated/PermissionDenied, Unavailable, FailedPrecondition (the registry refused a
  // manifest or answered another digest), Unimplemented for a daemon without push.
  absl::StatusOr<std::vector<xferpb::Progress::ImageResult>> Push(
      const xferpb::PushRequest& req, const ProgressCallback& progress,
      const CallOptions& call = {});

 private:
  std::shared_ptr<Connection> conn_;
  std::unique_ptr<xferpb::Transfer::Stub> stub_;
};

}  // namespace berth::client
