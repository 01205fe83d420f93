#include "services/transfer/service.h"

#include <mutex>

#include "core/status_macros.h"
#include "berth/services/transfer/v1/transfer.grpc.pb.h"
#include "plugins/transfer/puller.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/common/request_context.h"
#include "services/transfer/convert.h"

namespace berth::services {
namespace {

namespace pb = ::berth::services::transfer::v1;

class TransferService : public pb::Transfer::Service {
 public:
  explicit TransferService(std::shared_ptr<::berth::transfer::Puller> puller) : puller_(std::move(puller)) {}

  grpc::Status Pull(grpc::ServerContext* ctx, const pb::PullRequest* req,
                    grpc::ServerWriter<pb::Progress>* writer) override {
    return Run(ctx, *req, writer,
               [&](const std::string& ns, const auto& opts, const auto& fn)
                   -> absl::StatusOr<std::vector<::berth::transfer::PullResult>> {
                 BERTH_ASSIGN_OR_RETURN(auto r, puller_->Pull(ns, opts, fn));
                 return std::vector<::berth::transfer::PullResult>{std::move(r)};
               });
  }

  grpc::Status Import(grpc::ServerContext* ctx, const pb::ImportRequest* req,
                      grpc::ServerWriter<pb::Progress>* writer) override {
    return Run(ctx, *req, writer, [&](const std::string& ns, const auto& opts, const auto& fn) {
      return puller_->Import(ns, opts, fn);
    });
  }

  grpc::Status Export(grpc::ServerContext* ctx, const pb::ExportRequest* req,
                      grpc::ServerWriter<pb::Progress>* writer) override {
    return Run(ctx, *req, writer,
               [&](const std::string& ns, const auto& opts, const auto& fn)
                   -> absl::StatusOr<std::vector<::berth::transfer::PullResult>> {
                 BERTH_RETURN_IF_ERROR(puller_->Export(ns, opts, fn));
                 return std::vector<::berth::transfer::PullResult>{};
               });
  }

  grpc::Status Push(grpc::ServerContext* ctx, const pb::PushRequest* req,
                    grpc::ServerWriter<pb::Progress>* writer) override {
    return Run(ctx, *req, writer,
               [&](const std::string& ns, const auto& opts, const auto& fn)
                   -> absl::StatusOr<std::vector<::berth::transfer::PullResult>> {
                 BERTH_ASSIGN_OR_RETURN(auto r, puller_->Push(ns, opts, fn));
                 return std::vector<::berth::transfer::PullResult>{std::move(r)};
               });
  }

 private:
  // Namespace, conversion, the core call with progress streamed to the client, the final
  // message. The core serialises progress calls; a failed write means the client went away.
  template <typename Req, typename Call>
  grpc::Status Run(grpc::ServerContext* ctx, const Req& req,
                   grpc::ServerWriter<pb::Progress>* writer, const Call& call) {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    auto opts = transfer_convert::FromProto(req);
    if (!opts.ok()) return ToGrpcStatus(opts.status());
    auto progress = [&](const std::vector<::berth::transfer::ProgressItem>& items) -> absl::Status {
      pb::Progress msg;
      transfer_convert::ToProto(items, &msg);
      if (ctx->IsCancelled() || !writer->Write(msg)) return absl::CancelledError("client gone");
      return absl::OkStatus();
    };
    auto result = call(*ns, *opts, ::berth::transfer::ProgressFn(progress));
    if (!result.ok()) return ToGrpcStatus(result.status());
    pb::Progress last;
    transfer_convert::ToProto(*result, &last);
    writer->Write(last);
    return grpc::Status::OK;
  }

  std::shared_ptr<::berth::transfer::Puller> puller_;
};

}  // namespace

absl::Status RegisterTransferService(plugin::Registry& registry) {
  return registry.Add(plugin::Make<GrpcService>(
      {.type = plugin::kGrpc, .id = "transfer", .requires_types = {plugin::kTransfer}},
      [](plugin::InitContext& ctx,
         const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<GrpcService>> {
        BERTH_ASSIGN_OR_RETURN(auto puller, ctx.Get<::berth::transfer::Puller>(plugin::kTransfer));
        return std::make_shared<GrpcServiceOf<TransferService>>(puller);
      }));
}

}  // namespace berth::services
