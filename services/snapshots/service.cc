#include "services/snapshots/service.h"

#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "core/filters.h"
#include "core/labels.h"
#include "plugins/gc/plugin.h"
#include "plugins/snapshots/leased_snapshots.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/common/mount_convert.h"
#include "services/common/request_context.h"
#include "services/common/time_convert.h"

namespace berth::services {
namespace {

namespace pb = ::containerd::services::snapshots::v1;
using snapshotter::Kind;

void ToProto(const snapshotter::Info& in, pb::Info* out) {
  out->set_name(in.name);
  out->set_parent(in.parent);
  out->set_kind(static_cast<pb::Kind>(in.kind));
  ToTimestamp(in.created, out->mutable_created_at());
  ToTimestamp(in.updated, out->mutable_updated_at());
  out->mutable_labels()->insert(in.labels.begin(), in.labels.end());
}

filters::Adaptor AdaptorOf(const snapshotter::Info& i) {
  return [&i](const std::vector<std::string>& p) -> std::optional<std::string> {
    if (p.size() == 1 && p[0] == "name") return i.name;
    if (p.size() == 1 && p[0] == "parent") return i.parent;
    if (p.size() == 1 && p[0] == "kind") return std::string(snapshotter::KindName(i.kind));
    return LabelForFilterPath(i.labels, p);
  };
}

#define BERTH_NS_OR_RETURN(ns)               \
  auto ns = NamespaceOf(*ctx);               \
  if (!ns.ok()) return ToGrpcStatus(ns.status())
#define BERTH_SNAPSHOTTER_OR_RETURN(sn, name) \
  auto sn = core_->Get(name);                 \
  if (!sn.ok()) return ToGrpcStatus(sn.status())

class SnapshotsService : public pb::Snapshots::Service {
 public:
  SnapshotsService(std::shared_ptr<snapshotter::LeasedSnapshots> core,
                   std::shared_ptr<gc::Collector> gc)
      : core_(std::move(core)), gc_(std::move(gc)) {}

  grpc::Status Prepare(grpc::ServerContext* ctx, const pb::PrepareSnapshotRequest* req,
                       pb::PrepareSnapshotResponse* resp) override {
    BERTH_NS_OR_RETURN(ns);
    auto mounts = core_->Create(false, *ns, LeaseOf(*ctx), req->snapshotter(), req->key(),
                                req->parent(), {req->labels().begin(), req->labels().end()});
    if (!mounts.ok()) return ToGrpcStatus(mounts.status());
    MountsToProto(*mounts, resp->mutable_mounts());
    return grpc::Status::OK;
  }

  grpc::Status View(grpc::ServerContext* ctx, const pb::ViewSnapshotRequest* req,
                    pb::ViewSnapshotResponse* resp) override {
    BERTH_NS_OR_RETURN(ns);
    auto mounts = core_->Create(true, *ns, LeaseOf(*ctx), req->snapshotter(), req->key(),
                                req->parent(), {req->labels().begin(), req->labels().end()});
    if (!mounts.ok()) return ToGrpcStatus(mounts.status());
    MountsToProto(*mounts, resp->mutable_mounts());
    return grpc::Status::OK;
  }

  grpc::Status Mounts(grpc::ServerContext* ctx, const pb::MountsRequest* req,
                      pb::MountsResponse* resp) override {
    BERTH_NS_OR_RETURN(ns);
    BERTH_SNAPSHOTTER_OR_RETURN(sn, req->snapshotter());
    auto mounts = (*sn)->Mounts(*ns, req->key());
    if (!mounts.ok()) return ToGrpcStatus(mounts.status());
    MountsToProto(*mounts, resp->mutable_mounts());
    return grpc::Status::OK;
  }

  grpc::Status Commit(grpc::ServerContext* ctx, const pb::CommitSnapshotRequest* req,
                      google::protobuf::Empty*) override {
    BERTH_NS_OR_RETURN(ns);
    return ToGrpcStatus(core_->Commit(*ns, LeaseOf(*ctx), req->snapshotter(), req->name(),
                                      req->key(), {req->labels().begin(), req->labels().end()}));
  }

  grpc::Status Remove(grpc::ServerContext* ctx, const pb::RemoveSnapshotRequest* req,
                      google::protobuf::Empty*) override {
    BERTH_NS_OR_RETURN(ns);
    BERTH_SNAPSHOTTER_OR_RETURN(sn, req->snapshotter());
    absl::Status s = (*sn)->Remove(*ns, req->key());
    if (s.ok()) gc_->Schedule();  // directories go at the next Cleanup
    return ToGrpcStatus(s);
  }

  grpc::Status Stat(grpc::ServerContext* ctx, const pb::StatSnapshotRequest* req,
                    pb::StatSnapshotResponse* resp) override {
    BERTH_NS_OR_RETURN(ns);
    BERTH_SNAPSHOTTER_OR_RETURN(sn, req->snapshotter());
    auto info = (*sn)->Stat(*ns, req->key());
    if (!info.ok()) return ToGrpcStatus(info.status());
    ToProto(*info, resp->mutable_info());
    return grpc::Status::OK;
  }

  grpc::Status Update(grpc::ServerContext* ctx, const pb::UpdateSnapshotRequest* req,
                      pb::UpdateSnapshotResponse* resp) override {
    BERTH_NS_OR_RETURN(ns);
    BERTH_SNAPSHOTTER_OR_RETURN(sn, req->snapshotter());
    snapshotter::Info in;
    in.name = req->info().name();
    in.labels = {req->info().labels().begin(), req->info().labels().end()};
    auto info = (*sn)->Update(*ns, in, {req->update_mask().paths().begin(),
                                        req->update_mask().paths().end()});
    if (!info.ok()) return ToGrpcStatus(info.status());
    ToProto(*info, resp->mutable_info());
    return grpc::Status::OK;
  }

  grpc::Status List(grpc::ServerContext* ctx, const pb::ListSnapshotsRequest* req,
                    grpc::ServerWriter<pb::ListSnapshotsResponse>* writer) override {
    BERTH_NS_OR_RETURN(ns);
    BERTH_SNAPSHOTTER_OR_RETURN(sn, req->snapshotter());
    auto filter = filters::ParseAny({req->filters().begin(), req->filters().end()});
    if (!filter.ok()) return ToGrpcStatus(filter.status());
    pb::ListSnapshotsResponse batch;
    auto s = (*sn)->Walk(*ns, [&](const snapshotter::Info& info) {
      if (!(*filter)->Match(AdaptorOf(info))) return absl::OkStatus();
      ToProto(info, batch.add_info());
      if (batch.info_size() >= 100) {
        writer->Write(batch);
        batch.Clear();
      }
      return absl::OkStatus();
    });
    if (!s.ok()) return ToGrpcStatus(s);
    if (batch.info_size() > 0) writer->Write(batch);
    return grpc::Status::OK;
  }

  grpc::Status Usage(grpc::ServerContext* ctx, const pb::UsageRequest* req,
                     pb::UsageResponse* resp) override {
    BERTH_NS_OR_RETURN(ns);
    BERTH_SNAPSHOTTER_OR_RETURN(sn, req->snapshotter());
    auto usage = (*sn)->Usage(*ns, req->key());
    if (!usage.ok()) return ToGrpcStatus(usage.status());
    resp->set_size(usage->size);
    resp->set_inodes(usage->inodes);
    return grpc::Status::OK;
  }

  grpc::Status Cleanup(grpc::ServerContext* ctx, const pb::CleanupRequest* req,
                       google::protobuf::Empty*) override {
    BERTH_SNAPSHOTTER_OR_RETURN(sn, req->snapshotter());
    return ToGrpcStatus((*sn)->Cleanup());
  }

 private:
  std::shared_ptr<snapshotter::LeasedSnapshots> core_;
  std::shared_ptr<gc::Collector> gc_;
};

}  // namespace

absl::Status RegisterSnapshotsService(plugin::Registry& registry) {
  return registry.Add(plugin::Make<GrpcService>(
      {.type = plugin::kGrpc, .id = "snapshots", .requires_types = {plugin::kMetadata, plugin::kGc}},
      [](plugin::InitContext& ctx,
         const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<GrpcService>> {
        BERTH_ASSIGN_OR_RETURN(auto md, ctx.Get<metadata::Metadata>(plugin::kMetadata));
        BERTH_ASSIGN_OR_RETURN(auto gc, ctx.Get<gc::Collector>(plugin::kGc));
        return std::make_shared<GrpcServiceOf<SnapshotsService>>(
            std::make_shared<snapshotter::LeasedSnapshots>(md), gc);
      }));
}

}  // namespace berth::services
