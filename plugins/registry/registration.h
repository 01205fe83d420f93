// A plugin registration: typed ID, requirements, config with defaults, and an init function.
//
// Plugins are registered explicitly (cmd/berthd/builtins.cc calls each RegisterX function), typed
// with containerd's names so `ctr plugins ls` reads naturally:
//
//   registry.Add(plugin::Make<ContentStore, ContentConfig>(
//       {.type = plugin::kContent, .id = "content"},
//       [](plugin::InitContext& ctx, const ContentConfig& cfg) -> absl::StatusOr<...> {...}));
//
// A config struct provides:  static absl::StatusOr<Config> FromToml(const toml::table* section);
//                            absl::Status Validate() const;   toml::table ToToml() const;
#pragma once

#include <any>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "core/status_macros.h"
#include "toml++/toml.h"

namespace berth::plugin {

// containerd's plugin types.
inline constexpr char kContent[] = "io.containerd.content.v1";
inline constexpr char kSnapshotter[] = "io.containerd.snapshotter.v1";
inline constexpr char kMetadata[] = "io.containerd.metadata.v1";
inline constexpr char kGc[] = "io.containerd.gc.v1";
inline constexpr char kLease[] = "io.containerd.lease.v1";
inline constexpr char kDiff[] = "io.containerd.differ.v1";
inline constexpr char kEvent[] = "io.containerd.event.v1";
inline constexpr char kRuntime[] = "io.containerd.runtime.v2";
inline constexpr char kService[] = "io.containerd.service.v1";
inline constexpr char kGrpc[] = "io.containerd.grpc.v1";
inline constexpr char kInternal[] = "io.containerd.internal.v1";
inline constexpr char kTransfer[] = "io.containerd.transfer.v1";
inline constexpr char kCri[] = "io.containerd.cri.v1";

class InitContext;

// What introspection reports about a plugin besides its identity.
struct Meta {
  std::map<std::string, std::string> exports;
  std::vector<std::string> capabilities;
};

struct Registration {
  std::string type;
  std::string id;
  // Types this plugin needs; every plugin of each type is initialised first. "*" = all others.
  std::vector<std::string> requires_types;

  // Parses and validates [plugins."<type>.<id>"] (null section = defaults). The result is
  // handed to `init` unchanged.
  std::function<absl::StatusOr<std::any>(const toml::table* section)> parse_config;
  // The default section, for `berthd config default`. Empty table = no config.
  std::function<toml::table()> default_config;
  // Builds the instance (a std::shared_ptr<T> inside the any). A failure marks the plugin
  // skipped with that reason; the daemon goes on without it.
  std::function<absl::StatusOr<std::any>(InitContext&, const std::any& config)> init;

  std::string FullId() const { return type + "." + id; }
};

// The config of a plugin that takes none.
struct NoConfig {
  static absl::StatusOr<NoConfig> FromToml(const toml::table* section);
  absl::Status Validate() const { return absl::OkStatus(); }
  toml::table ToToml() const { return {}; }
};

template <typename T, typename Config = NoConfig>
Registration Make(
    Registration base,
    // type_identity: Config comes from the template arguments, never from the lambda.
    std::type_identity_t<std::function<absl::StatusOr<std::shared_ptr<T>>(InitContext&, const Config&)>>
        init) {
  base.parse_config = [](const toml::table* section) -> absl::StatusOr<std::any> {
    BERTH_ASSIGN_OR_RETURN(Config cfg, Config::FromToml(section));
    BERTH_RETURN_IF_ERROR(cfg.Validate());
    return std::any(std::move(cfg));
  };
  base.default_config = [] { return Config{}.ToToml(); };
  base.init = [init = std::move(init)](InitContext& ctx,
                                       const std::any& cfg) -> absl::StatusOr<std::any> {
    BERTH_ASSIGN_OR_RETURN(std::shared_ptr<T> instance, init(ctx, std::any_cast<const Config&>(cfg)));
    return std::any(std::move(instance));
  };
  return base;
}

}  // namespace berth::plugin
