#include "services/containers/service.h"

#include "containerd/services/containers/v1/containers.grpc.pb.h"
#include "plugins/containers/containers.h"
#include "plugins/containers/plugin.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/common/request_context.h"
#include "services/events/convert.h"

namespace berth::services {
namespace {

namespace pb = ::containerd::services::containers::v1;
using containers::Container;

Container FromProto(const pb::Container& in) {
  Container c;
  c.id = in.id();
  c.labels = {in.labels().begin(), in.labels().end()};
  c.image = in.image();
  c.runtime_name = in.runtime().name();
  if (in.runtime().has_options()) c.runtime_options = in.runtime().options();
  if (in.has_spec()) c.spec = in.spec();
  c.snapshotter = in.snapshotter();
  c.snapshot_key = in.snapshot_key();
  for (const auto& [k, v] : in.extensions()) c.extensions[k] = v;
  return c;
}

void ToProto(const Container& in, pb::Container* out) {
  out->set_id(in.id);
  out->mutable_labels()->insert(in.labels.begin(), in.labels.end());
  out->set_image(in.image);
  out->mutable_runtime()->set_name(in.runtime_name);
  if (!in.runtime_options.type_url().empty()) {
    *out->mutable_runtime()->mutable_options() = in.runtime_options;
  }
  if (!in.spec.type_url().empty() || !in.spec.value().empty()) *out->mutable_spec() = in.spec;
  out->set_snapshotter(in.snapshotter);
  out->set_snapshot_key(in.snapshot_key);
  ToTimestamp(in.created_at, out->mutable_created_at());
  ToTimestamp(in.updated_at, out->mutable_updated_at());
  for (const auto& [k, v] : in.extensions) (*out->mutable_extensions())[k] = v;
}

class ContainersService : public pb::Containers::Service {
 public:
  explicit ContainersService(std::shared_ptr<containers::ContainerStore> store)
      : store_(std::move(store)) {}

  grpc::Status Get(grpc::ServerContext* ctx, const pb::GetContainerRequest* req,
                   pb::GetContainerResponse* resp) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    auto c = store_->Get(*ns, req->id());
    if (!c.ok()) return ToGrpcStatus(c.status());
    ToProto(*c, resp->mutable_container());
    return grpc::Status::OK;
  }

  grpc::Status List(grpc::ServerContext* ctx, const pb::ListContainersRequest* req,
                    pb::ListContainersResponse* resp) override {
    auto all = ListAll(*ctx, *req);
    if (!all.ok()) return ToGrpcStatus(all.status());
    for (const auto& c : *all) ToProto(c, resp->add_containers());
    return grpc::Status::OK;
  }

  grpc::Status ListStream(grpc::ServerContext* ctx, const pb::ListContainersRequest* req,
                          grpc::ServerWriter<pb::ListContainerMessage>* writer) override {
    auto all = ListAll(*ctx, *req);
    if (!all.ok()) return ToGrpcStatus(all.status());
    for (const auto& c : *all) {
      pb::ListContainerMessage msg;
      ToProto(c, msg.mutable_container());
      if (!writer->Write(msg)) break;
    }
    return grpc::Status::OK;
  }

  grpc::Status Create(grpc::ServerContext* ctx, const pb::CreateContainerRequest* req,
                      pb::CreateContainerResponse* resp) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    auto c = store_->Create(*ns, FromProto(req->container()));
    if (!c.ok()) return ToGrpcStatus(c.status());
    ToProto(*c, resp->mutable_container());
    return grpc::Status::OK;
  }

  grpc::Status Update(grpc::ServerContext* ctx, const pb::UpdateContainerRequest* req,
                      pb::UpdateContainerResponse* resp) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    std::vector<std::string> paths(req->update_mask().paths().begin(),
                                   req->update_mask().paths().end());
    auto c = store_->Update(*ns, FromProto(req->container()), paths);
    if (!c.ok()) return ToGrpcStatus(c.status());
    ToProto(*c, resp->mutable_container());
    return grpc::Status::OK;
  }

  grpc::Status Delete(grpc::ServerContext* ctx, const pb::DeleteContainerRequest* req,
                      google::protobuf::Empty*) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    return ToGrpcStatus(store_->Delete(*ns, req->id()));
  }

 private:
  absl::StatusOr<std::vector<Container>> ListAll(const grpc::ServerContext& ctx,
                                                 const pb::ListContainersRequest& req) {
    BERTH_ASSIGN_OR_RETURN(std::string ns, NamespaceOf(ctx));
    return store_->List(ns, {req.filters().begin(), req.filters().end()});
  }

  std::shared_ptr<containers::ContainerStore> store_;
};

}  // namespace

absl::Status RegisterContainersService(plugin::Registry& registry) {
  return registry.Add(plugin::Make<GrpcService>(
      {.type = plugin::kGrpc, .id = "containers", .requires_types = {plugin::kService}},
      [](plugin::InitContext& ctx,
         const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<GrpcService>> {
        BERTH_ASSIGN_OR_RETURN(auto store, ctx.GetById<containers::ContainerStore>(
                                               plugin::kService, containers::kContainersServiceId));
        return std::make_shared<GrpcServiceOf<ContainersService>>(std::move(store));
      }));
}

}  // namespace berth::services
