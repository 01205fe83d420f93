#include "plugins/containers/plugin.h"

#include "plugins/containers/containers.h"
#include "plugins/events/exchange.h"
#include "plugins/metadata/plugin.h"

namespace berth::containers {

absl::Status RegisterContainersCore(plugin::Registry& registry) {
  return registry.Add(plugin::Make<ContainerStore>(
      {.type = plugin::kService,
       .id = kContainersServiceId,
       .requires_types = {plugin::kMetadata, plugin::kEvent}},
      [](plugin::InitContext& ctx,
         const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<ContainerStore>> {
        BERTH_ASSIGN_OR_RETURN(auto md, ctx.Get<metadata::Metadata>(plugin::kMetadata));
        BERTH_ASSIGN_OR_RETURN(auto exchange, ctx.Get<events::Exchange>(plugin::kEvent));
        // The registry keeps metadata and exchange alive as long as this plugin.
        return std::make_shared<ContainerStore>(md->db.get(), exchange.get());
      }));
}

}  // namespace berth::containers
