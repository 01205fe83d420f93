// The gRPC face of the CRI: runtime.v1.RuntimeService and runtime.v1.ImageService on one
// grpc::Service (berthd registers one service per io.containerd.grpc.v1 plugin, so the image
// service's methods are added to the runtime service's table by their wire names). Handlers
// are thin: check, one call into CriRuntime / ImageCore, map the status.
#pragma once

#include <memory>

#include "cri/runtime.h"
#include "cri/streaming/server.h"
#include "proto/cri_api.h"
#include "services/common/grpc_service.h"

namespace berth::cri {

// `puller` (may be null) pulls for PullImage: a std::function so cri/ does not need the
// transfer plugin when it is not built.
using PullFn = std::function<absl::StatusOr<std::string>(const v1::PullImageRequest&)>;

// `streaming` (may be null: Exec/Attach/PortForward then answer Unavailable) is the started
// streaming server whose URLs those RPCs return; the service keeps it alive and it is stopped
// when the service goes (berthd shutdown).
std::shared_ptr<services::GrpcService> MakeCriGrpcService(
    std::shared_ptr<CriRuntime> core, PullFn pull,
    std::shared_ptr<streaming::Server> streaming = nullptr);

// The image handlers, exposed for the service table (cri/server/image_service.cc).
class ImageHandlers {
 public:
  ImageHandlers(std::shared_ptr<CriRuntime> core, PullFn pull)
      : core_(std::move(core)), pull_(std::move(pull)) {}
  grpc::Status ListImages(grpc::ServerContext*, const v1::ListImagesRequest*, v1::ListImagesResponse*);
  grpc::Status ImageStatus(grpc::ServerContext*, const v1::ImageStatusRequest*, v1::ImageStatusResponse*);
  grpc::Status PullImage(grpc::ServerContext*, const v1::PullImageRequest*, v1::PullImageResponse*);
  grpc::Status RemoveImage(grpc::ServerContext*, const v1::RemoveImageRequest*, v1::RemoveImageResponse*);
  grpc::Status ImageFsInfo(grpc::ServerContext*, const v1::ImageFsInfoRequest*, v1::ImageFsInfoResponse*);

 private:
  std::shared_ptr<CriRuntime> core_;
  PullFn pull_;
};

}  // namespace berth::cri
