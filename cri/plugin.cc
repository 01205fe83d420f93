#include "core/status_macros.h"
#include "cri/plugin.h"

#include "cri/server/cri_service.h"
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
        auto core = std::make_shared<CriRuntime>(std::move(deps));
        BERTH_RETURN_IF_ERROR(core->Init());
        ctx.meta().exports["namespace"] = kCriNamespace;
        ctx.meta().exports["cni_conf_dir"] = cfg.cni_conf_dir;
        ctx.meta().exports["default_runtime"] = cfg.default_runtime_name;
        return MakeCriGrpcService(std::move(core), MakePull(ctx, cfg));
      }));
}

}  // namespace berth::cri
