#include "plugins/content/plugin.h"

#include "content-store/local_store.h"

namespace berth::content {

absl::Status RegisterContentPlugin(plugin::Registry& registry) {
  return registry.Add(plugin::Make<ContentStore>(
      {.type = plugin::kContent, .id = "content"},
      [](plugin::InitContext& ctx,
         const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<ContentStore>> {
        BERTH_ASSIGN_OR_RETURN(auto store, LocalStore::Open(ctx.root()));
        ctx.meta().exports["root"] = ctx.root();
        return std::shared_ptr<ContentStore>(std::move(store));
      }));
}

}  // namespace berth::content
