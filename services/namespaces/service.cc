#include "services/namespaces/service.h"

#include "containerd/services/namespaces/v1/namespace.grpc.pb.h"
#include "core/filters.h"
#include "core/labels.h"
#include "plugins/metadata/plugin.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"

namespace berth::services {
namespace {

namespace pb = ::containerd::services::namespaces::v1;

metadata::Namespace FromProto(const pb::Namespace& in) {
  return {in.name(), {in.labels().begin(), in.labels().end()}};
}

void ToProto(const metadata::Namespace& in, pb::Namespace* out) {
  out->set_name(in.name);
  out->mutable_labels()->insert(in.labels.begin(), in.labels.end());
}

filters::Adaptor AdaptorOf(const metadata::Namespace& ns) {
  return [&ns](const std::vector<std::string>& path) -> std::optional<std::string> {
    if (path.size() == 1 && path[0] == "name") return ns.name;
    return LabelForFilterPath(ns.labels, path);
  };
}

class NamespacesService : public pb::Namespaces::Service {
 public:
  explicit NamespacesService(metadata::NamespaceStore* store) : store_(store) {}

  grpc::Status Get(grpc::ServerContext*, const pb::GetNamespaceRequest* req,
                   pb::GetNamespaceResponse* resp) override {
    auto ns = store_->Get(req->name());
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    ToProto(*ns, resp->mutable_namespace_());
    return grpc::Status::OK;
  }

  grpc::Status List(grpc::ServerContext*, const pb::ListNamespacesRequest* req,
                    pb::ListNamespacesResponse* resp) override {
    auto filter = filters::ParseAny({req->filter()});
    if (!filter.ok()) return ToGrpcStatus(filter.status());
    auto all = store_->List();
    if (!all.ok()) return ToGrpcStatus(all.status());
    for (const auto& ns : *all) {
      if ((*filter)->Match(AdaptorOf(ns))) ToProto(ns, resp->add_namespaces());
    }
    return grpc::Status::OK;
  }

  grpc::Status Create(grpc::ServerContext*, const pb::CreateNamespaceRequest* req,
                      pb::CreateNamespaceResponse* resp) override {
    auto ns = store_->Create(FromProto(req->namespace_()));
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    ToProto(*ns, resp->mutable_namespace_());
    return grpc::Status::OK;
  }

  grpc::Status Update(grpc::ServerContext*, const pb::UpdateNamespaceRequest* req,
                      pb::UpdateNamespaceResponse* resp) override {
    std::vector<std::string> paths(req->update_mask().paths().begin(),
                                   req->update_mask().paths().end());
    auto ns = store_->Update(FromProto(req->namespace_()), paths);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    ToProto(*ns, resp->mutable_namespace_());
    return grpc::Status::OK;
  }

  grpc::Status Delete(grpc::ServerContext*, const pb::DeleteNamespaceRequest* req,
                      google::protobuf::Empty*) override {
    return ToGrpcStatus(store_->Delete(req->name()));
  }

 private:
  metadata::NamespaceStore* store_;
};

}  // namespace

absl::Status RegisterNamespacesService(plugin::Registry& registry) {
  return registry.Add(plugin::Make<GrpcService>(
      {.type = plugin::kGrpc, .id = "namespaces", .requires_types = {plugin::kMetadata}},
      [](plugin::InitContext& ctx,
         const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<GrpcService>> {
        BERTH_ASSIGN_OR_RETURN(auto md, ctx.Get<metadata::Metadata>(plugin::kMetadata));
        // The registry keeps the metadata plugin alive for as long as the server runs.
        return std::make_shared<GrpcServiceOf<NamespacesService>>(md->namespaces.get());
      }));
}

}  // namespace berth::services
