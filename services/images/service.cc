#include "services/images/service.h"

#include "containerd/services/images/v1/images.grpc.pb.h"
#include "plugins/events/exchange.h"
#include "plugins/gc/plugin.h"
#include "plugins/metadata/plugin.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/common/request_context.h"
#include "services/common/time_convert.h"

namespace berth::services {
namespace {

namespace pb = ::containerd::services::images::v1;

images::Image FromProto(const pb::Image& in) {
  images::Image out;
  out.name = in.name();
  out.labels = {in.labels().begin(), in.labels().end()};
  out.target.media_type = in.target().media_type();
  out.target.digest = in.target().digest();
  out.target.size = in.target().size();
  out.target.annotations = {in.target().annotations().begin(), in.target().annotations().end()};
  return out;
}

void ToProto(const images::Image& in, pb::Image* out) {
  out->set_name(in.name);
  out->mutable_labels()->insert(in.labels.begin(), in.labels.end());
  auto* t = out->mutable_target();
  t->set_media_type(in.target.media_type);
  t->set_digest(in.target.digest);
  t->set_size(in.target.size);
  t->mutable_annotations()->insert(in.target.annotations.begin(), in.target.annotations.end());
  ToTimestamp(in.created_at, out->mutable_created_at());
  ToTimestamp(in.updated_at, out->mutable_updated_at());
}

class ImagesService : public pb::Images::Service {
 public:
  ImagesService(std::shared_ptr<images::ImageStore> store, std::shared_ptr<gc::Collector> gc)
      : store_(std::move(store)), gc_(std::move(gc)) {}

  grpc::Status Get(grpc::ServerContext* ctx, const pb::GetImageRequest* req,
                   pb::GetImageResponse* resp) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    auto img = store_->Get(*ns, req->name());
    if (!img.ok()) return ToGrpcStatus(img.status());
    ToProto(*img, resp->mutable_image());
    return grpc::Status::OK;
  }

  grpc::Status List(grpc::ServerContext* ctx, const pb::ListImagesRequest* req,
                    pb::ListImagesResponse* resp) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    auto all = store_->List(*ns, {req->filters().begin(), req->filters().end()});
    if (!all.ok()) return ToGrpcStatus(all.status());
    for (const auto& i : *all) ToProto(i, resp->add_images());
    return grpc::Status::OK;
  }

  grpc::Status Create(grpc::ServerContext* ctx, const pb::CreateImageRequest* req,
                      pb::CreateImageResponse* resp) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    auto img = store_->Create(*ns, FromProto(req->image()));
    if (!img.ok()) return ToGrpcStatus(img.status());
    ToProto(*img, resp->mutable_image());
    return grpc::Status::OK;
  }

  grpc::Status Update(grpc::ServerContext* ctx, const pb::UpdateImageRequest* req,
                      pb::UpdateImageResponse* resp) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    auto img = store_->Update(*ns, FromProto(req->image()),
                              {req->update_mask().paths().begin(), req->update_mask().paths().end()});
    if (!img.ok()) return ToGrpcStatus(img.status());
    ToProto(*img, resp->mutable_image());
    return grpc::Status::OK;
  }

  grpc::Status Delete(grpc::ServerContext* ctx, const pb::DeleteImageRequest* req,
                      google::protobuf::Empty*) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    if (auto s = store_->Delete(*ns, req->name()); !s.ok()) return ToGrpcStatus(s);
    if (!req->sync()) {
      gc_->Schedule();
      return grpc::Status::OK;
    }
    return ToGrpcStatus(gc_->CollectNow().status());
  }

 private:
  std::shared_ptr<images::ImageStore> store_;
  std::shared_ptr<gc::Collector> gc_;
};

}  // namespace

absl::Status RegisterImagesService(plugin::Registry& registry) {
  return registry.Add(plugin::Make<GrpcService>(
      {.type = plugin::kGrpc, .id = "images",
       .requires_types = {plugin::kMetadata, plugin::kGc, plugin::kEvent}},
      [](plugin::InitContext& ctx,
         const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<GrpcService>> {
        BERTH_ASSIGN_OR_RETURN(auto md, ctx.Get<metadata::Metadata>(plugin::kMetadata));
        BERTH_ASSIGN_OR_RETURN(auto gc, ctx.Get<gc::Collector>(plugin::kGc));
        BERTH_ASSIGN_OR_RETURN(auto exchange, ctx.Get<events::Exchange>(plugin::kEvent));
        // The service's store publishes image events; the exchange outlives it (registry order).
        auto store = std::make_shared<images::ImageStore>(md->db.get(), exchange.get());
        return std::make_shared<GrpcServiceOf<ImagesService>>(store, gc);
      }));
}

}  // namespace berth::services
