#include "plugins/transfer/plugin.h"

#include "absl/strings/str_cat.h"
#include "core/toml_reader.h"
#include "plugins/metadata/plugin.h"
#include "plugins/transfer/puller.h"

namespace berth::transfer {
namespace {

struct TransferToml {
  PullerConfig config;
  static absl::StatusOr<TransferToml> FromToml(const toml::table* section) {
    TransferToml out;
    TomlReader r(section, "[plugins.\"io.containerd.transfer.v1.berth\"]");
    r.String("config_path", &out.config.config_path);
    r.Int("max_concurrent_downloads", &out.config.max_concurrent_downloads);
    r.Int("max_concurrent_uploads", &out.config.max_concurrent_uploads);
    r.Int("low_speed_seconds", &out.config.low_speed_seconds);
    r.Int("max_attempts", &out.config.max_attempts);
    r.String("snapshotter", &out.config.default_snapshotter);
    BERTH_RETURN_IF_ERROR(r.Finish());
    return out;
  }
  absl::Status Validate() const {
    if (config.max_concurrent_downloads < 1 || config.max_concurrent_downloads > 64) {
      return absl::InvalidArgumentError("max_concurrent_downloads must be within 1..64");
    }
    if (config.max_concurrent_uploads < 1 || config.max_concurrent_uploads > 64) {
      return absl::InvalidArgumentError("max_concurrent_uploads must be within 1..64");
    }
    if (config.low_speed_seconds < 1) return absl::InvalidArgumentError("low_speed_seconds must be >= 1");
    if (config.max_attempts < 1) return absl::InvalidArgumentError("max_attempts must be >= 1");
    return absl::OkStatus();
  }
  toml::table ToToml() const {
    return toml::table{{"config_path", config.config_path},
                       {"max_concurrent_downloads", config.max_concurrent_downloads},
                       {"max_concurrent_uploads", config.max_concurrent_uploads},
                       {"low_speed_seconds", config.low_speed_seconds},
                       {"max_attempts", config.max_attempts},
                       {"snapshotter", config.default_snapshotter}};
  }
};

}  // namespace

absl::Status RegisterTransferPlugin(plugin::Registry& registry) {
  return registry.Add(plugin::Make<Puller, TransferToml>(
      {.type = plugin::kTransfer, .id = "berth", .requires_types = {plugin::kMetadata}},
      [](plugin::InitContext& ctx, const TransferToml& cfg) -> absl::StatusOr<std::shared_ptr<Puller>> {
        BERTH_ASSIGN_OR_RETURN(auto md, ctx.Get<metadata::Metadata>(plugin::kMetadata));
        ctx.meta().exports["config_path"] = cfg.config.config_path;
        ctx.meta().exports["max_concurrent_downloads"] =
            absl::StrCat(cfg.config.max_concurrent_downloads);
        return std::make_shared<Puller>(md, cfg.config);
      }));
}

}  // namespace berth::transfer
