#include "services/transfer/service.h"

#include <mutex>

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
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    auto opts = transfer_convert::FromProto(*req);
    if (!opts.ok()) return ToGrpcStatus(opts.status());
    // The puller serialises progress calls; a failed write means the client went away.
    auto progress = [&](const std::vector<::berth::transfer::ProgressItem>& items) -> absl::Status {
      pb::Progress msg;
      transfer_convert::ToProto(items, &msg);
      if (ctx->IsCancelled() || !writer->Write(msg)) return absl::CancelledError("client gone");
      return absl::OkStatus();
    };
    auto result = puller_->Pull(*ns, *opts, progress);
    if (!result.ok()) return ToGrpcStatus(result.status());
    pb::Progress last;
    transfer_convert::ToProto(*result, &last);
    writer->Write(last);
    return grpc::Status::OK;
  }

  grpc::Status Import(grpc::ServerContext*, const pb::ImportRequest*,
                      grpc::ServerWriter<pb::Progress>*) override {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "transfer: import is not implemented yet");
  }
  grpc::Status Export(grpc::ServerContext*, const pb::ExportRequest*,
                      grpc::ServerWriter<pb::Progress>*) override {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "transfer: export is not implemented yet");
  }

 private:
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
