#include "plugins/gc/plugin.h"

#include "plugins/metadata/plugin.h"

namespace berth::gc {

absl::Status RegisterGcScheduler(plugin::Registry& registry) {
  return registry.Add(plugin::Make<Collector>(
      {.type = plugin::kGc, .id = "scheduler", .requires_types = {plugin::kMetadata}},
      [](plugin::InitContext& ctx,
         const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<Collector>> {
        BERTH_ASSIGN_OR_RETURN(auto md, ctx.Get<metadata::Metadata>(plugin::kMetadata));
        std::map<std::string, snapshotter::Snapshotter*> snapshotters;
        for (const auto& [name, sn] : md->snapshotters) snapshotters[name] = sn.get();
        // The collector keeps the metadata plugin's objects alive through `md`.
        return std::shared_ptr<Collector>(
            new Collector(md->db.get(), md->content->backend(), snapshotters),
            [md](Collector* c) { delete c; });
      }));
}

}  // namespace berth::gc
