#include "core/status_macros.h"
#include "cri/reference.h"
#include "cri/server/cri_service.h"
#include "services/common/grpc_status.h"

namespace berth::cri {
namespace {

void ToImage(const ImageInfo& info, v1::Image* out) {
  out->set_id(info.id);
  for (const auto& t : info.repo_tags) out->add_repo_tags(t);
  for (const auto& d : info.repo_digests) out->add_repo_digests(d);
  out->set_size(static_cast<uint64_t>(info.size));
  std::optional<int64_t> uid;
  std::string username;
  ImageUser(info.config, &uid, &username);
  if (uid) out->mutable_uid()->set_value(*uid);
  out->set_username(username);
  out->mutable_spec()->set_image(info.id);
}

}  // namespace

grpc::Status ImageHandlers::ListImages(grpc::ServerContext*, const v1::ListImagesRequest* req,
                                       v1::ListImagesResponse* resp) {
  auto list = core_->images().List();
  if (!list.ok()) return services::ToGrpcStatus(list.status());
  std::string want;
  if (req->has_filter() && !req->filter().image().image().empty()) {
    auto r = core_->images().Resolve(req->filter().image().image());
    if (!r.ok()) return absl::IsNotFound(r.status()) ? grpc::Status::OK : services::ToGrpcStatus(r.status());
    want = r->id;
  }
  for (const auto& i : *list) {
    if (want.empty() || i.id == want) ToImage(i, resp->add_images());
  }
  return grpc::Status::OK;
}

grpc::Status ImageHandlers::ImageStatus(grpc::ServerContext*, const v1::ImageStatusRequest* req,
                                        v1::ImageStatusResponse* resp) {
  auto info = core_->images().Resolve(req->image().image());
  if (absl::IsNotFound(info.status())) return grpc::Status::OK;  // CRI: image unset = absent
  if (!info.ok()) return services::ToGrpcStatus(info.status());
  ToImage(*info, resp->mutable_image());
  if (req->verbose()) (*resp->mutable_info())["info"] = info->config.dump();
  return grpc::Status::OK;
}

grpc::Status ImageHandlers::PullImage(grpc::ServerContext*, const v1::PullImageRequest* req,
                                      v1::PullImageResponse* resp) {
  if (!pull_) {
    return services::ToGrpcStatus(absl::UnimplementedError(
        "PullImage: registry pulls are not built into this berthd; import images with "
        "`ctr -n k8s.io images import`"));
  }
  auto ref = pull_(*req);
  if (!ref.ok()) return services::ToGrpcStatus(ref.status());
  auto info = core_->images().Resolve(*ref);
  if (!info.ok()) return services::ToGrpcStatus(info.status());
  resp->set_image_ref(info->id);
  return grpc::Status::OK;
}

grpc::Status ImageHandlers::RemoveImage(grpc::ServerContext*, const v1::RemoveImageRequest* req,
                                        v1::RemoveImageResponse*) {
  return services::ToGrpcStatus(core_->images().Remove(req->image().image()));
}

grpc::Status ImageHandlers::ImageFsInfo(grpc::ServerContext*, const v1::ImageFsInfoRequest*,
                                        v1::ImageFsInfoResponse* resp) {
  auto usage = core_->images().FsUsage(core_->config().snapshotter);
  if (!usage.ok()) return services::ToGrpcStatus(usage.status());
  auto* fs = resp->add_image_filesystems();
  fs->set_timestamp(NowNanos());
  fs->mutable_fs_id()->set_mountpoint(core_->config().snapshotter);
  fs->mutable_used_bytes()->set_value(static_cast<uint64_t>(usage->first));
  fs->mutable_inodes_used()->set_value(static_cast<uint64_t>(usage->second));
  *resp->add_container_filesystems() = *fs;
  return grpc::Status::OK;
}

}  // namespace berth::cri
