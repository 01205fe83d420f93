#include "core/status_macros.h"
#include "cri/plugin.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cri/server/cri_service.h"
#include "cri/stream_runtime.h"
#include "plugins/containers/plugin.h"
#ifdef BERTH_CRI_HAVE_PULLER
#include "plugins/transfer/puller.h"
#endif

namespace berth::cri {
namespace {

PullFn MakePull([[maybe_unused]] plugin::InitContext& ctx, [[maybe_unused]] const CriConfig& cfg) {
#ifdef BERTH_CRI_HAVE_PULLER
  auto puller = ctx.Get<transfer::Puller>(plugin::kTransfer);
  if (!puller.ok()) return nullptr;
  return [p = *puller, cfg](const v1::PullImageRequest& req) -> absl::StatusOr<std::string> {
    transfer::PullOptions opts;
    opts.reference = req.image().image();
    opts.snapshotter = cfg.snapshotter;
    if (!cfg.registry_config_path.empty()) opts.hosts_dir = cfg.registry_config_path;
    const auto& auth = req.auth();
    opts.credentials.username = auth.username();
    opts.credentials.password = auth.password();
    opts.credentials.identity_token = auth.identity_token();
    opts.credentials.registry_token = auth.registry_token();
    BERTH_ASSIGN_OR_RETURN(auto res, p->Pull(kCriNamespace, opts, nullptr));
    return res.name;
  };
#else
  return nullptr;
#endif
}

// The streaming server and the runtime it calls, owned together: the server is declared
// last so it is stopped (sessions hung up, threads joined) before the runtime goes.
struct Streaming {
  std::unique_ptr<StreamRuntime> runtime;
  std::unique_ptr<streaming::Server> server;
};

// Starts the streaming server on stream_server_address:stream_server_port. The returned
// pointer shares ownership of the whole Streaming.
absl::StatusOr<std::shared_ptr<streaming::Server>> StartStreaming(CriRuntime& core,
                                                                  const CriConfig& cfg) {
  streaming::ServerConfig sc;
  sc.address = cfg.stream_server_address;
  int port = 0;
  if (!absl::SimpleAtoi(cfg.stream_server_port, &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("stream_server_port \"", cfg.stream_server_port, "\" is not a port"));
  }
  sc.port = static_cast<uint16_t>(port);
  BERTH_ASSIGN_OR_RETURN(absl::Duration idle, cfg.StreamIdleTimeout());
  // Zero means no idle timeout in containerd; our handlers take a duration.
  sc.handler.idle_timeout = idle == absl::ZeroDuration() ? absl::InfiniteDuration() : idle;
  auto holder = std::make_shared<Streaming>();
  holder->runtime = std::make_unique<StreamRuntime>(core);
  holder->server = std::make_unique<streaming::Server>(sc, *holder->runtime);
  BERTH_RETURN_IF_ERROR(holder->server->Start());
  streaming::Server* server = holder->server.get();
  return std::shared_ptr<streaming::Server>(std::move(holder), server);
}

}  // namespace

absl::Status RegisterCriPlugin(plugin::Registry& registry) {
  std::vector<std::string> requires_types = {plugin::kMetadata, plugin::kService, plugin::kRuntime};
#ifdef BERTH_CRI_HAVE_PULLER
  requires_types.push_back(plugin::kTransfer);
#endif
  return registry.Add(plugin::Make<services::GrpcService, CriConfig>(
      {.type = plugin::kGrpc, .id = kCriPluginId, .requires_types = requires_types},
      [](plugin::InitContext& ctx,
         const CriConfig& cfg) -> absl::StatusOr<std::shared_ptr<services::GrpcService>> {
        CriDeps deps;
        deps.config = cfg;
        deps.root = ctx.root();
        deps.state = ctx.state();
        BERTH_ASSIGN_OR_RETURN(deps.md, ctx.Get<metadata::Metadata>(plugin::kMetadata));
        BERTH_ASSIGN_OR_RETURN(deps.containers, ctx.GetById<containers::ContainerStore>(
                                                    plugin::kService, containers::kContainersServiceId));
        BERTH_ASSIGN_OR_RETURN(deps.tasks, ctx.Get<runtime::TaskManager>(plugin::kRuntime));
        PullFn pull = MakePull(ctx, cfg);
        if (pull) {
          deps.pull = [pull](const std::string& ref) {
            v1::PullImageRequest req;
            req.mutable_image()->set_image(ref);
            return pull(req);
          };
        }
        auto core = std::make_shared<CriRuntime>(std::move(deps));
        BERTH_RETURN_IF_ERROR(core->Init());
        ctx.meta().exports["namespace"] = kCriNamespace;
        ctx.meta().exports["cni_conf_dir"] = cfg.cni_conf_dir;
        ctx.meta().exports["default_runtime"] = cfg.default_runtime_name;
        BERTH_ASSIGN_OR_RETURN(auto stream_server, StartStreaming(*core, cfg));
        ctx.meta().exports["stream_server"] =
            absl::StrCat(cfg.stream_server_address, ":", stream_server->port());
        return MakeCriGrpcService(std::move(core), std::move(pull), std::move(stream_server));
      }));
}

}  // namespace berth::cri
