#include "services/diff/service.h"

#include "containerd/services/diff/v1/diff.grpc.pb.h"
#include "plugins/differ/walking.h"
#include "plugins/transfer/unpack_ahead.h"
#include "plugins/transfer/unpack_ahead_plugin.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/common/mount_convert.h"
#include "services/common/request_context.h"

namespace berth::services {
namespace {

namespace pb = ::containerd::services::diff::v1;

void ToProto(const images::Descriptor& in, containerd::types::Descriptor* out) {
  out->set_media_type(in.media_type);
  out->set_digest(in.digest);
  out->set_size(in.size);
}

class DiffService : public pb::Diff::Service {
 public:
  explicit DiffService(std::shared_ptr<differ::WalkingDiffer> differ) : differ_(std::move(differ)) {}

  grpc::Status Apply(grpc::ServerContext* ctx, const pb::ApplyRequest* req,
                     pb::ApplyResponse* resp) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    images::Descriptor desc{req->diff().media_type(), req->diff().digest(), req->diff().size(), {}};
    auto applied = differ_->Apply(*ns, desc, MountsFromProto(req->mounts()));
    if (!applied.ok()) return ToGrpcStatus(applied.status());
    ToProto(*applied, resp->mutable_applied());
    return grpc::Status::OK;
  }

  grpc::Status Diff(grpc::ServerContext* ctx, const pb::DiffRequest* req,
                    pb::DiffResponse* resp) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    auto desc = differ_->Diff(*ns, LeaseOf(*ctx), MountsFromProto(req->left()),
                              MountsFromProto(req->right()), req->media_type(), req->ref(),
                              {req->labels().begin(), req->labels().end()});
    if (!desc.ok()) return ToGrpcStatus(desc.status());
    ToProto(*desc, resp->mutable_diff());
    return grpc::Status::OK;
  }

 private:
  std::shared_ptr<differ::WalkingDiffer> differ_;
};

}  // namespace

absl::Status RegisterDiffService(plugin::Registry& registry) {
  BERTH_RETURN_IF_ERROR(transfer::RegisterUnpackAhead(registry));
  BERTH_RETURN_IF_ERROR(registry.Add(plugin::Make<differ::WalkingDiffer>(
      {.type = plugin::kDiff, .id = "walking",
       .requires_types = {plugin::kMetadata, plugin::kInternal}},
      [](plugin::InitContext& ctx,
         const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<differ::WalkingDiffer>> {
        BERTH_ASSIGN_OR_RETURN(auto md, ctx.Get<metadata::Metadata>(plugin::kMetadata));
        // A layer extracted while a client fetched it is moved into place, not applied again.
        differ::WalkingDiffer::StagedApply staged;
        auto ahead = ctx.GetById<transfer::UnpackAhead>(plugin::kInternal, transfer::kUnpackAheadId);
        if (ahead.ok()) {
          staged = [ahead = *ahead](const std::string& ns, const images::Descriptor& desc,
                                    const std::vector<mount::Mount>& mounts) {
            return ahead->TryApply(ns, desc, mounts);
          };
        }
        return std::make_shared<differ::WalkingDiffer>(md, std::move(staged));
      })));
  return registry.Add(plugin::Make<GrpcService>(
      {.type = plugin::kGrpc, .id = "diff", .requires_types = {plugin::kDiff}},
      [](plugin::InitContext& ctx,
         const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<GrpcService>> {
        BERTH_ASSIGN_OR_RETURN(auto differ, ctx.Get<differ::WalkingDiffer>(plugin::kDiff));
        return std::make_shared<GrpcServiceOf<DiffService>>(differ);
      }));
}

}  // namespace berth::services
