#include "plugins/metadata/plugin.h"

namespace berth::metadata {

absl::Status RegisterMetadata(plugin::Registry& registry) {
  return registry.Add(plugin::Make<Metadata>(
      {.type = plugin::kMetadata, .id = "rocksdb"},
      [](plugin::InitContext& ctx, const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<Metadata>> {
        auto md = std::make_shared<Metadata>();
        BERTH_ASSIGN_OR_RETURN(md->db, Db::Open(ctx.root()));
        md->namespaces = std::make_unique<NamespaceStore>(md->db.get());
        ctx.meta().exports["path"] = ctx.root();
        return md;
      }));
}

}  // namespace berth::metadata
