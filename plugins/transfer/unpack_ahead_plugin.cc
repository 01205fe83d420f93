#include "plugins/transfer/unpack_ahead_plugin.h"

#include "absl/strings/str_cat.h"
#include "core/toml_reader.h"
#include "plugins/metadata/plugin.h"
#include "plugins/transfer/unpack_ahead.h"

namespace berth::transfer {
namespace {

struct UnpackAheadToml {
  UnpackAheadConfig config;
  int64_t ttl_seconds = 600;
  static absl::StatusOr<UnpackAheadToml> FromToml(const toml::table* section) {
    UnpackAheadToml out;
    TomlReader r(section, "[plugins.\"io.containerd.internal.v1.unpack-ahead\"]");
    r.Bool("enabled", &out.config.enabled);
    r.Int("max_concurrent", &out.config.max_concurrent);
    r.Int("ttl_seconds", &out.ttl_seconds);
    r.Int("max_staged_bytes", &out.config.max_staged_bytes);
    r.String("snapshotter_root", &out.config.snapshotter_root);
    BERTH_RETURN_IF_ERROR(r.Finish());
    out.config.ttl = absl::Seconds(out.ttl_seconds);
    return out;
  }
  absl::Status Validate() const {
    if (config.max_concurrent < 1 || config.max_concurrent > 16) {
      return absl::InvalidArgumentError("max_concurrent must be within 1..16");
    }
    if (ttl_seconds < 1) return absl::InvalidArgumentError("ttl_seconds must be >= 1");
    if (config.max_staged_bytes < 0) return absl::InvalidArgumentError("max_staged_bytes < 0");
    return absl::OkStatus();
  }
  toml::table ToToml() const {
    return toml::table{{"enabled", config.enabled},
                       {"max_concurrent", config.max_concurrent},
                       {"ttl_seconds", ttl_seconds},
                       {"max_staged_bytes", config.max_staged_bytes},
                       {"snapshotter_root", config.snapshotter_root}};
  }
};

// The root the overlayfs plugin exported (its snapshot directories are the only targets).
std::string OverlayRoot(const plugin::InitContext& ctx) {
  for (const plugin::Instance* inst : ctx.All(plugin::kSnapshotter)) {
    if (inst->registration->id != "overlayfs") continue;
    auto it = inst->meta.exports.find("root");
    if (it != inst->meta.exports.end()) return it->second;
  }
  return "";
}

}  // namespace

absl::Status RegisterUnpackAhead(plugin::Registry& registry) {
  return registry.Add(plugin::Make<UnpackAhead, UnpackAheadToml>(
      {.type = plugin::kInternal,
       .id = kUnpackAheadId,
       .requires_types = {plugin::kMetadata}},
      [](plugin::InitContext& ctx,
         const UnpackAheadToml& toml) -> absl::StatusOr<std::shared_ptr<UnpackAhead>> {
        // Never skipped: the content and diff services require this plugin, so when the
        // feature is off or cannot work here it is a no-op instance that says why.
        auto off = [&](const std::string& why) {
          ctx.meta().exports["enabled"] = "false";
          ctx.meta().exports["reason"] = why;
          return UnpackAhead::Disabled();
        };
        if (!toml.config.enabled) return off("disabled by config");
        BERTH_ASSIGN_OR_RETURN(auto md, ctx.Get<metadata::Metadata>(plugin::kMetadata));
        UnpackAheadConfig config = toml.config;
        if (config.snapshotter_root.empty()) config.snapshotter_root = OverlayRoot(ctx);
        if (config.snapshotter_root.empty() || !md->snapshotters.count(config.snapshotter)) {
          return off("the overlayfs snapshotter is not ready");
        }
        config.stage_root = absl::StrCat(ctx.root(), "/stage");
        auto ahead = UnpackAhead::Create(md, config);
        if (!ahead.ok()) return off(std::string(ahead.status().message()));
        ctx.meta().exports["enabled"] = "true";
        ctx.meta().exports["stage_root"] = config.stage_root;
        return *ahead;
      }));
}

}  // namespace berth::transfer
