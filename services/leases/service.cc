#include "services/leases/service.h"

#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "plugins/gc/plugin.h"
#include "plugins/metadata/plugin.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/common/request_context.h"
#include "services/common/time_convert.h"

namespace berth::services {
namespace {

namespace pb = ::containerd::services::leases::v1;

void ToProto(const leases::Lease& in, pb::Lease* out) {
  out->set_id(in.id);
  ToTimestamp(in.created_at, out->mutable_created_at());
  out->mutable_labels()->insert(in.labels.begin(), in.labels.end());
}

leases::Resource FromProto(const pb::Resource& r) { return {r.id(), r.type()}; }

class LeasesService : public pb::Leases::Service {
 public:
  LeasesService(std::shared_ptr<leases::LeaseStore> store, std::shared_ptr<gc::Collector> gc)
      : store_(std::move(store)), gc_(std::move(gc)) {}

  grpc::Status Create(grpc::ServerContext* ctx, const pb::CreateRequest* req,
                      pb::CreateResponse* resp) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    auto lease = store_->Create(*ns, req->id(), {req->labels().begin(), req->labels().end()});
    if (!lease.ok()) return ToGrpcStatus(lease.status());
    ToProto(*lease, resp->mutable_lease());
    return grpc::Status::OK;
  }

  grpc::Status Delete(grpc::ServerContext* ctx, const pb::DeleteRequest* req,
                      google::protobuf::Empty*) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    if (auto s = store_->Delete(*ns, req->id()); !s.ok()) return ToGrpcStatus(s);
    if (!req->sync()) {
      gc_->Schedule();
      return grpc::Status::OK;
    }
    return ToGrpcStatus(gc_->CollectNow().status());
  }

  grpc::Status List(grpc::ServerContext* ctx, const pb::ListRequest* req,
                    pb::ListResponse* resp) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    auto all = store_->List(*ns, {req->filters().begin(), req->filters().end()});
    if (!all.ok()) return ToGrpcStatus(all.status());
    for (const auto& l : *all) ToProto(l, resp->add_leases());
    return grpc::Status::OK;
  }

  grpc::Status AddResource(grpc::ServerContext* ctx, const pb::AddResourceRequest* req,
                           google::protobuf::Empty*) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    return ToGrpcStatus(store_->AddResource(*ns, req->id(), FromProto(req->resource())));
  }

  grpc::Status DeleteResource(grpc::ServerContext* ctx, const pb::DeleteResourceRequest* req,
                              google::protobuf::Empty*) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    absl::Status s = store_->DeleteResource(*ns, req->id(), FromProto(req->resource()));
    if (s.ok()) gc_->Schedule();
    return ToGrpcStatus(s);
  }

  grpc::Status ListResources(grpc::ServerContext* ctx, const pb::ListResourcesRequest* req,
                             pb::ListResourcesResponse* resp) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    auto all = store_->ListResources(*ns, req->id());
    if (!all.ok()) return ToGrpcStatus(all.status());
    for (const auto& r : *all) {
      auto* out = resp->add_resources();
      out->set_id(r.id);
      out->set_type(r.type);
    }
    return grpc::Status::OK;
  }

 private:
  std::shared_ptr<leases::LeaseStore> store_;
  std::shared_ptr<gc::Collector> gc_;
};

}  // namespace

absl::Status RegisterLeasesService(plugin::Registry& registry) {
  return registry.Add(plugin::Make<GrpcService>(
      {.type = plugin::kGrpc, .id = "leases", .requires_types = {plugin::kMetadata, plugin::kGc}},
      [](plugin::InitContext& ctx,
         const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<GrpcService>> {
        BERTH_ASSIGN_OR_RETURN(auto md, ctx.Get<metadata::Metadata>(plugin::kMetadata));
        BERTH_ASSIGN_OR_RETURN(auto gc, ctx.Get<gc::Collector>(plugin::kGc));
        return std::make_shared<GrpcServiceOf<LeasesService>>(md->leases, gc);
      }));
}

}  // namespace berth::services
