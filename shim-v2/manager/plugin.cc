#include "shim-v2/manager/plugin.h"

#include "core/fs.h"
#include "shim-v2/manager/daemon_address.h"
#include "shim-v2/manager/manager.h"

namespace berth::runtime {

absl::Status RegisterTaskManager(plugin::Registry& registry) {
  return registry.Add(plugin::Make<TaskManager>(
      {.type = plugin::kRuntime,
       .id = "task",
       // io.containerd.ttrpc.v1: the daemon's ttrpc endpoint must listen before shims publish.
       .requires_types = {plugin::kEvent, "io.containerd.ttrpc.v1"}},
      [](plugin::InitContext& ctx,
         const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<TaskManager>> {
        BERTH_ASSIGN_OR_RETURN(auto exchange, ctx.Get<events::Exchange>(plugin::kEvent));
        ManagerOptions opts;
        opts.state = ctx.state();
        opts.root = ctx.root();
        opts.grpc_address = DaemonGrpcAddress(ctx.daemon_root());
        opts.ttrpc_address = TtrpcAddressFor(opts.grpc_address);
        opts.publish_binary = SelfExecutable();
        opts.self_dir = fs::Dirname(opts.publish_binary);
        BERTH_RETURN_IF_ERROR(fs::MkdirAll(opts.state, 0711));
        BERTH_RETURN_IF_ERROR(fs::MkdirAll(opts.root, 0711));
        auto manager = std::make_shared<TaskManager>(opts, exchange);
        manager->LoadExisting();
        ctx.meta().exports["state"] = opts.state;
        ctx.meta().exports["address"] = opts.grpc_address;
        return manager;
      }));
}

}  // namespace berth::runtime
