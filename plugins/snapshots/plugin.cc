#include "plugins/snapshots/plugin.h"

#include "core/toml_reader.h"
#include "snapshotter/native.h"
#include "snapshotter/overlay.h"

namespace berth::snapshotter {
namespace {

// [plugins."io.containerd.snapshotter.v1.overlayfs"]
struct OverlayfsToml {
  OverlayConfig config;
  static absl::StatusOr<OverlayfsToml> FromToml(const toml::table* section) {
    OverlayfsToml out;
    TomlReader r(section, "[plugins.\"io.containerd.snapshotter.v1.overlayfs\"]");
    r.String("root_path", &out.config.root_path);
    r.Bool("upperdir_label", &out.config.upperdir_label);
    r.Bool("sync_remove", &out.config.sync_remove);
    r.StringList("mount_options", &out.config.mount_options);
    BERTH_RETURN_IF_ERROR(r.Finish());
    return out;
  }
  absl::Status Validate() const { return absl::OkStatus(); }
  toml::table ToToml() const {
    toml::array opts;
    for (const auto& o : config.mount_options) opts.push_back(o);
    return toml::table{{"root_path", config.root_path},
                       {"upperdir_label", config.upperdir_label},
                       {"sync_remove", config.sync_remove},
                       {"mount_options", opts}};
  }
};

// [plugins."io.containerd.snapshotter.v1.native"]
struct NativeToml {
  NativeConfig config;
  static absl::StatusOr<NativeToml> FromToml(const toml::table* section) {
    NativeToml out;
    TomlReader r(section, "[plugins.\"io.containerd.snapshotter.v1.native\"]");
    r.String("root_path", &out.config.root_path);
    BERTH_RETURN_IF_ERROR(r.Finish());
    return out;
  }
  absl::Status Validate() const { return absl::OkStatus(); }
  toml::table ToToml() const { return toml::table{{"root_path", config.root_path}}; }
};

}  // namespace

absl::Status RegisterOverlayfs(plugin::Registry& registry) {
  return registry.Add(plugin::Make<Snapshotter, OverlayfsToml>(
      {.type = plugin::kSnapshotter, .id = "overlayfs"},
      [](plugin::InitContext& ctx,
         const OverlayfsToml& toml) -> absl::StatusOr<std::shared_ptr<Snapshotter>> {
        OverlayConfig config = toml.config;
        if (config.root_path.empty()) config.root_path = ctx.root();
        // Skipped (with the reason shown by `ctr plugins ls`) where overlay cannot work.
        BERTH_RETURN_IF_ERROR(CheckOverlaySupport(config.root_path));
        BERTH_ASSIGN_OR_RETURN(auto sn, NewOverlaySnapshotter(config));
        ctx.meta().exports["root"] = config.root_path;
        return std::shared_ptr<Snapshotter>(std::move(sn));
      }));
}

absl::Status RegisterNative(plugin::Registry& registry) {
  return registry.Add(plugin::Make<Snapshotter, NativeToml>(
      {.type = plugin::kSnapshotter, .id = "native"},
      [](plugin::InitContext& ctx,
         const NativeToml& toml) -> absl::StatusOr<std::shared_ptr<Snapshotter>> {
        NativeConfig config = toml.config;
        if (config.root_path.empty()) config.root_path = ctx.root();
        BERTH_ASSIGN_OR_RETURN(auto sn, NewNativeSnapshotter(config));
        ctx.meta().exports["root"] = config.root_path;
        return std::shared_ptr<Snapshotter>(std::move(sn));
      }));
}

}  // namespace berth::snapshotter
