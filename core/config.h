// The daemon's TOML configuration, in containerd's shape:
//
//   version = 2
//   root = "/var/lib/berth"
//   state = "/run/berth"
//   disabled_plugins = []
//   [grpc]   address = "/run/berth/berth.sock"
//   [debug]  level = "info"   format = "text"
//   [plugins."io.containerd.snapshotter.v1.overlayfs"]  ...   (read by the plugin itself)
//
// Unknown keys are errors naming the key. Plugin sections are kept as TOML tables and parsed by
// their plugin's config struct (see plugins/registry).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "toml++/toml.h"

namespace berth {

struct GrpcConfig {
  std::string address = "/run/berth/berth.sock";
  int64_t max_recv_message_size = 16 << 20;
  int64_t max_send_message_size = 16 << 20;
};

struct DebugConfig {
  std::string level = "info";
  std::string format = "text";  // "text" or "json"
};

struct DaemonConfig {
  int64_t version = 2;
  std::string root = "/var/lib/berth";
  std::string state = "/run/berth";
  GrpcConfig grpc;
  DebugConfig debug;
  std::vector<std::string> disabled_plugins;
  // "<type>.<id>" -> that plugin's section, as written.
  std::map<std::string, toml::table> plugins;

  // Parses a TOML document. InvalidArgument with the line for syntax errors, the key for
  // unknown keys, and for an unsupported `version`.
  static absl::StatusOr<DaemonConfig> Parse(absl::string_view text, absl::string_view source);
  // Reads and parses a file; NotFound when it does not exist.
  static absl::StatusOr<DaemonConfig> Load(const std::string& path);

  // The daemon's own keys (not the plugin sections) as TOML.
  toml::table ToToml() const;
};

}  // namespace berth
