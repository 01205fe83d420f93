#include "services/events/service.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <thread>

#include "containerd/services/events/v1/events.grpc.pb.h"
#include "containerd/services/ttrpc/events/v1/events.pb.h"
#include "core/log.h"
#include "core/status.h"
#include "plugins/events/exchange.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/common/request_context.h"
#include "services/events/convert.h"
#include "shim-v2/manager/daemon_address.h"
#include "shim-v2/ttrpc/server.h"

namespace berth::services {
namespace {

namespace pb = ::containerd::services::events::v1;
namespace tpb = ::containerd::services::events::ttrpc::v1;

class EventsService : public pb::Events::Service {
 public:
  explicit EventsService(std::shared_ptr<events::Exchange> exchange)
      : exchange_(std::move(exchange)) {}

  grpc::Status Publish(grpc::ServerContext* ctx, const pb::PublishRequest* req,
                       google::protobuf::Empty*) override {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    return ToGrpcStatus(exchange_->PublishAny(*ns, req->topic(), req->event()));
  }

  grpc::Status Forward(grpc::ServerContext*, const pb::ForwardRequest* req,
                       google::protobuf::Empty*) override {
    return ToGrpcStatus(exchange_->Forward(FromProtoEnvelope(req->envelope())));
  }

  // Streams until the client goes away, the server shuts down, or the subscriber is dropped.
  grpc::Status Subscribe(grpc::ServerContext* ctx, const pb::SubscribeRequest* req,
                         grpc::ServerWriter<pb::Envelope>* writer) override {
    std::vector<std::string> filters(req->filters().begin(), req->filters().end());
    auto sub = exchange_->Subscribe(filters);
    if (!sub.ok()) return ToGrpcStatus(sub.status());
    // Headers go out at once so clients see the subscription established.
    writer->SendInitialMetadata();
    while (!ctx->IsCancelled()) {
      auto next = (*sub)->Next(absl::Milliseconds(500));
      if (absl::IsDeadlineExceeded(next.status())) continue;
      if (!next.ok()) {
        (*sub)->Close();
        return ToGrpcStatus(next.status());
      }
      pb::Envelope out;
      ToProtoEnvelope(*next, &out);
      if (!writer->Write(out)) break;
    }
    (*sub)->Close();
    return grpc::Status::OK;
  }

 private:
  std::shared_ptr<events::Exchange> exchange_;
};

// The daemon's ttrpc endpoint: a listening unix socket served on a background thread.
class TtrpcEndpoint {
 public:
  ~TtrpcEndpoint() {
    server_.Shutdown();
    if (thread_.joinable()) thread_.join();
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  absl::Status Start(const std::string& path, std::shared_ptr<events::Exchange> exchange) {
    server_.Register("containerd.services.events.ttrpc.v1.Events", "Forward",
                     [exchange](const ttrpc::CallContext&,
                                const std::string& payload) -> absl::StatusOr<std::string> {
                       tpb::ForwardRequest req;
                       if (!req.ParseFromString(payload)) {
                         return absl::InvalidArgumentError("undecodable ForwardRequest");
                       }
                       BERTH_RETURN_IF_ERROR(exchange->Forward(FromProtoEnvelope(req.envelope())));
                       return std::string();  // google.protobuf.Empty
                     });
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof(sa.sun_path)) {
      return absl::InvalidArgumentError(absl::StrCat("ttrpc socket path too long: ", path));
    }
    memcpy(sa.sun_path, path.data(), path.size());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return ErrnoStatus("ttrpc socket");
    // The daemon holds the lock of its gRPC socket, so a file here is a dead daemon's.
    ::unlink(path.c_str());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || ::listen(fd, 128) != 0) {
      absl::Status st = ErrnoStatus(absl::StrCat("listen on ", path));
      ::close(fd);
      return st;
    }
    ::chmod(path.c_str(), 0660);
    path_ = path;
    thread_ = std::thread([this, fd] {
      if (absl::Status st = server_.Serve(fd); !st.ok()) {
        log::Get("events")->error("ttrpc server on {}: {}", path_, st.ToString());
      }
    });
    return absl::OkStatus();
  }

 private:
  ttrpc::Server server_;
  std::thread thread_;
  std::string path_;
};

}  // namespace

absl::Status RegisterEventsService(plugin::Registry& registry) {
  return registry.Add(plugin::Make<GrpcService>(
      {.type = plugin::kGrpc, .id = "events", .requires_types = {plugin::kEvent}},
      [](plugin::InitContext& ctx,
         const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<GrpcService>> {
        BERTH_ASSIGN_OR_RETURN(auto exchange, ctx.Get<events::Exchange>(plugin::kEvent));
        return std::make_shared<GrpcServiceOf<EventsService>>(std::move(exchange));
      }));
}

absl::Status RegisterTtrpcEventsService(plugin::Registry& registry) {
  return registry.Add(plugin::Make<TtrpcEndpoint>(
      {.type = kTtrpcPlugin, .id = "events", .requires_types = {plugin::kEvent}},
      [](plugin::InitContext& ctx,
         const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<TtrpcEndpoint>> {
        BERTH_ASSIGN_OR_RETURN(auto exchange, ctx.Get<events::Exchange>(plugin::kEvent));
        std::string path = runtime::TtrpcAddressFor(runtime::DaemonGrpcAddress(ctx.daemon_root()));
        auto endpoint = std::make_shared<TtrpcEndpoint>();
        BERTH_RETURN_IF_ERROR(endpoint->Start(path, std::move(exchange)));
        ctx.meta().exports["address"] = path;
        return endpoint;
      }));
}

}  // namespace berth::services
