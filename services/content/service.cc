#include "services/content/service.h"

#include <algorithm>

#include "containerd/events/content.pb.h"
#include "containerd/services/content/v1/content.grpc.pb.h"
#include "plugins/content/namespaced_store.h"
#include "plugins/content/plugin.h"
#include "plugins/events/exchange.h"
#include "plugins/gc/plugin.h"
#include "plugins/metadata/plugin.h"
#include "plugins/transfer/unpack_ahead.h"
#include "plugins/transfer/unpack_ahead_plugin.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/common/request_context.h"
#include "services/common/time_convert.h"
#include "services/content/write_session.h"

namespace berth::services {
namespace {

namespace pb = ::containerd::services::content::v1;
using content::Digest;

constexpr size_t kReadChunk = 1 << 20;
constexpr int kListBatch = 100;

void ToProto(const content::Info& in, pb::Info* out) {
  out->set_digest(in.digest.str());
  out->set_size(in.size);
  ToTimestamp(in.created_at, out->mutable_created_at());
  ToTimestamp(in.updated_at, out->mutable_updated_at());
  out->mutable_labels()->insert(in.labels.begin(), in.labels.end());
}

void ToProto(const content::IngestStatus& in, pb::Status* out) {
  out->set_ref(in.ref);
  out->set_offset(in.offset);
  out->set_total(in.total);
  out->set_expected(in.expected.str());
  ToTimestamp(in.started_at, out->mutable_started_at());
  ToTimestamp(in.updated_at, out->mutable_updated_at());
}

class ContentService : public pb::Content::Service {
 public:
  ContentService(std::shared_ptr<content::NamespacedStore> store, std::shared_ptr<gc::Collector> gc,
                 std::shared_ptr<events::Exchange> events,
                 std::shared_ptr<transfer::UnpackAhead> ahead)
      : store_(std::move(store)), gc_(std::move(gc)), events_(std::move(events)),
        ahead_(std::move(ahead)) {}

  grpc::Status Info(grpc::ServerContext* ctx, const pb::InfoRequest* req,
                    pb::InfoResponse* resp) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    auto d = Digest::Parse(req->digest());
    if (!d.ok()) return ToGrpcStatus(d.status());
    auto info = store_->GetInfo(*ns, *d);
    if (!info.ok()) return ToGrpcStatus(info.status());
    ToProto(*info, resp->mutable_info());
    return grpc::Status::OK;
  }

  grpc::Status Update(grpc::ServerContext* ctx, const pb::UpdateRequest* req,
                      pb::UpdateResponse* resp) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    auto d = Digest::Parse(req->info().digest());
    if (!d.ok()) return ToGrpcStatus(d.status());
    content::Info in{*d, 0, {}, {}, {req->info().labels().begin(), req->info().labels().end()}};
    auto info = store_->Update(*ns, in, {req->update_mask().paths().begin(),
                                         req->update_mask().paths().end()});
    if (!info.ok()) return ToGrpcStatus(info.status());
    if (ahead_) ahead_->LabelsUpdated(*ns, info->digest.str(), info->labels);
    ToProto(*info, resp->mutable_info());
    return grpc::Status::OK;
  }

  grpc::Status List(grpc::ServerContext* ctx, const pb::ListContentRequest* req,
                    grpc::ServerWriter<pb::ListContentResponse>* writer) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    pb::ListContentResponse batch;
    auto status = store_->Walk(*ns, {req->filters().begin(), req->filters().end()},
                               [&](const content::Info& info) {
                                 ToProto(info, batch.add_info());
                                 if (batch.info_size() >= kListBatch) {
                                   writer->Write(batch);
                                   batch.Clear();
                                 }
                                 return absl::OkStatus();
                               });
    if (!status.ok()) return ToGrpcStatus(status);
    if (batch.info_size() > 0) writer->Write(batch);
    return grpc::Status::OK;
  }

  grpc::Status Delete(grpc::ServerContext* ctx, const pb::DeleteContentRequest* req,
                      google::protobuf::Empty*) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    auto d = Digest::Parse(req->digest());
    if (!d.ok()) return ToGrpcStatus(d.status());
    absl::Status s = store_->Delete(*ns, *d);
    if (s.ok()) {
      if (ahead_) ahead_->BlobDeleted(*ns, d->str());
      gc_->Schedule();
      ::containerd::events::ContentDelete ev;
      ev.set_digest(req->digest());
      (void)events_->Publish(*ns, "/content/delete", ev);
    }
    return ToGrpcStatus(s);
  }

  grpc::Status Read(grpc::ServerContext* ctx, const pb::ReadContentRequest* req,
                    grpc::ServerWriter<pb::ReadContentResponse>* writer) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    auto d = Digest::Parse(req->digest());
    if (!d.ok()) return ToGrpcStatus(d.status());
    auto reader = store_->OpenReader(*ns, *d);
    if (!reader.ok()) return ToGrpcStatus(reader.status());
    int64_t offset = req->offset();
    int64_t end = (*reader)->Size();
    if (req->size() > 0 && offset + req->size() < end) end = offset + req->size();
    // No bigger than the read: a zeroed 1 MiB per call is 256 fresh page faults, and ctr reads
    // the small manifest and config blobs this way several times per `ctr run`.
    std::string buf(static_cast<size_t>(std::clamp<int64_t>(end - offset, 0, kReadChunk)), '\0');
    pb::ReadContentResponse resp;
    while (offset < end && !ctx->IsCancelled()) {
      size_t want = static_cast<size_t>(std::min<int64_t>(kReadChunk, end - offset));
      auto n = (*reader)->ReadAt(offset, absl::Span<char>(buf.data(), want));
      if (!n.ok()) return ToGrpcStatus(n.status());
      if (*n == 0) break;
      resp.set_offset(offset);
      resp.set_data(buf.data(), *n);
      offset += static_cast<int64_t>(*n);
      // The last chunk goes out with the status in one write: for the small manifest and
      // config blobs ctr reads several times per `ctr run`, one round on the socket, not two.
      if (offset >= end) {
        writer->WriteLast(resp, grpc::WriteOptions());
        break;
      }
      if (!writer->Write(resp)) break;
    }
    return grpc::Status::OK;
  }

  grpc::Status Status(grpc::ServerContext* ctx, const pb::StatusRequest* req,
                      pb::StatusResponse* resp) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    auto st = store_->Status(*ns, req->ref());
    if (!st.ok()) return ToGrpcStatus(st.status());
    ToProto(*st, resp->mutable_status());
    return grpc::Status::OK;
  }

  grpc::Status ListStatuses(grpc::ServerContext* ctx, const pb::ListStatusesRequest* req,
                            pb::ListStatusesResponse* resp) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    auto all = store_->ListStatuses(*ns, {req->filters().begin(), req->filters().end()});
    if (!all.ok()) return ToGrpcStatus(all.status());
    for (const auto& st : *all) ToProto(st, resp->add_statuses());
    return grpc::Status::OK;
  }

  grpc::Status Write(grpc::ServerContext* ctx,
                     grpc::ServerReaderWriter<pb::WriteContentResponse, pb::WriteContentRequest>*
                         stream) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    std::function<void(const Digest&)> committed;
    if (ahead_) committed = [&](const Digest& d) { ahead_->BlobCommitted(*ns, d.str()); };
    return ToGrpcStatus(RunWriteSession(*store_, *ns, LeaseOf(*ctx), stream, committed));
  }

  grpc::Status Abort(grpc::ServerContext* ctx, const pb::AbortRequest* req,
                     google::protobuf::Empty*) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    return ToGrpcStatus(store_->Abort(*ns, req->ref()));
  }

 private:
  std::shared_ptr<content::NamespacedStore> store_;
  std::shared_ptr<gc::Collector> gc_;
  std::shared_ptr<events::Exchange> events_;
  std::shared_ptr<transfer::UnpackAhead> ahead_;  // null: disabled or not ready
};

}  // namespace

absl::Status RegisterContentService(plugin::Registry& registry) {
  return registry.Add(plugin::Make<GrpcService>(
      {.type = plugin::kGrpc, .id = "content",
       .requires_types = {plugin::kMetadata, plugin::kGc, plugin::kEvent, plugin::kInternal}},
      [](plugin::InitContext& ctx,
         const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<GrpcService>> {
        BERTH_ASSIGN_OR_RETURN(auto md, ctx.Get<metadata::Metadata>(plugin::kMetadata));
        BERTH_ASSIGN_OR_RETURN(auto gc, ctx.Get<gc::Collector>(plugin::kGc));
        BERTH_ASSIGN_OR_RETURN(auto exchange, ctx.Get<events::Exchange>(plugin::kEvent));
        auto ahead = ctx.GetById<transfer::UnpackAhead>(plugin::kInternal, transfer::kUnpackAheadId);
        return std::make_shared<GrpcServiceOf<ContentService>>(md->content, gc, exchange,
                                                               ahead.ok() ? *ahead : nullptr);
      }));
}

}  // namespace berth::services
