#include "services/namespaces/service.h"

#include "containerd/events/namespace.pb.h"
#include "containerd/services/namespaces/v1/namespace.grpc.pb.h"
#include "core/filters.h"
#include "core/labels.h"
#include "plugins/events/exchange.h"
#include "plugins/metadata/plugin.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/common/request_context.h"

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
  NamespacesService(metadata::NamespaceStore* store, events::Publisher* publisher)
      : store_(store), publisher_(publisher) {}

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

  grpc::Status Create(grpc::ServerContext* ctx, const pb::CreateNamespaceRequest* req,
                      pb::CreateNamespaceResponse* resp) override {
    auto ns = store_->Create(FromProto(req->namespace_()));
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    ToProto(*ns, resp->mutable_namespace_());
    ::containerd::events::NamespaceCreate ev;
    ev.set_name(ns->name);
    ev.mutable_labels()->insert(ns->labels.begin(), ns->labels.end());
    Publish(*ctx, "/namespaces/create", ev);
    return grpc::Status::OK;
  }

  grpc::Status Update(grpc::ServerContext* ctx, const pb::UpdateNamespaceRequest* req,
                      pb::UpdateNamespaceResponse* resp) override {
    std::vector<std::string> paths(req->update_mask().paths().begin(),
                                   req->update_mask().paths().end());
    auto ns = store_->Update(FromProto(req->namespace_()), paths);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    ToProto(*ns, resp->mutable_namespace_());
    ::containerd::events::NamespaceUpdate ev;
    ev.set_name(ns->name);
    ev.mutable_labels()->insert(ns->labels.begin(), ns->labels.end());
    Publish(*ctx, "/namespaces/update", ev);
    return grpc::Status::OK;
  }

  grpc::Status Delete(grpc::ServerContext* ctx, const pb::DeleteNamespaceRequest* req,
                      google::protobuf::Empty*) override {
    absl::Status st = store_->Delete(req->name());
    if (st.ok()) {
      ::containerd::events::NamespaceDelete ev;
      ev.set_name(req->name());
      Publish(*ctx, "/namespaces/delete", ev);
    }
    return ToGrpcStatus(st);
  }

 private:
  // Like containerd, the event goes to the caller's namespace (ctr always sends one); a request
  // without one changes the namespace all the same and announces nothing.
  void Publish(const grpc::ServerContext& ctx, const std::string& topic,
               const google::protobuf::Message& ev) {
    auto ns = NamespaceOf(ctx);
    if (ns.ok()) (void)publisher_->Publish(*ns, topic, ev);
  }

  metadata::NamespaceStore* store_;
  events::Publisher* publisher_;
};

}  // namespace

absl::Status RegisterNamespacesService(plugin::Registry& registry) {
  return registry.Add(plugin::Make<GrpcService>(
      {.type = plugin::kGrpc, .id = "namespaces",
       .requires_types = {plugin::kMetadata, plugin::kEvent}},
      [](plugin::InitContext& ctx,
         const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<GrpcService>> {
        BERTH_ASSIGN_OR_RETURN(auto md, ctx.Get<metadata::Metadata>(plugin::kMetadata));
        BERTH_ASSIGN_OR_RETURN(auto exchange, ctx.Get<events::Exchange>(plugin::kEvent));
        // The registry keeps the metadata plugin and the exchange alive while the server runs.
        return std::make_shared<GrpcServiceOf<NamespacesService>>(md->namespaces.get(),
                                                                  exchange.get());
      }));
}

}  // namespace berth::services
