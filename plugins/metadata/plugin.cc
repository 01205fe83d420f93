#include "plugins/metadata/plugin.h"

#include "absl/strings/str_cat.h"

namespace berth::metadata {
namespace {

// A namespace holding snapshots cannot be deleted (they live in the snapshotters' own stores).
absl::StatusOr<std::string> SnapshotsIn(const Metadata& md, const std::string& ns) {
  for (const auto& [name, sn] : md.snapshotters) {
    bool any = false;
    // Stop the walk at the first snapshot: one is enough to refuse.
    absl::Status walked = sn->Walk(ns, [&](const snapshotter::Info&) {
      any = true;
      return absl::CancelledError();
    });
    if (!walked.ok() && !absl::IsCancelled(walked)) return walked;
    if (any) return absl::StrCat("snapshots in ", name);
  }
  return std::string();
}

}  // namespace

absl::Status RegisterMetadata(plugin::Registry& registry) {
  return registry.Add(plugin::Make<Metadata>(
      {.type = plugin::kMetadata, .id = "rocksdb",
       .requires_types = {plugin::kContent, plugin::kSnapshotter}},
      [](plugin::InitContext& ctx,
         const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<Metadata>> {
        auto md = std::make_shared<Metadata>();
        BERTH_ASSIGN_OR_RETURN(md->db, Db::Open(ctx.root()));
        BERTH_ASSIGN_OR_RETURN(md->blobs, ctx.Get<content::ContentStore>(plugin::kContent));
        for (const auto* inst : ctx.All(plugin::kSnapshotter)) {
          md->snapshotters[inst->registration->id] =
              std::any_cast<std::shared_ptr<snapshotter::Snapshotter>>(inst->value);
        }
        md->namespaces = std::make_unique<NamespaceStore>(md->db.get());
        md->content = std::make_shared<content::NamespacedStore>(md->db.get(), md->blobs.get());
        md->leases = std::make_shared<leases::LeaseStore>(md->db.get());
        md->images = std::make_shared<images::ImageStore>(md->db.get());
        Metadata* raw = md.get();
        md->namespaces->AddUsageCheck([raw](const std::string& ns) { return SnapshotsIn(*raw, ns); });
        ctx.meta().exports["path"] = ctx.root();
        return md;
      }));
}

}  // namespace berth::metadata
