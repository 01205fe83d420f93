// Registry host configuration in containerd's format: `<config_path>/<host>/hosts.toml`
// (falling back to `<config_path>/_default/hosts.toml`):
//
//   server = "https://registry.example.com"        # the upstream; default https://<host>
//   [host."http://127.0.0.1:5001"]                  # mirrors, tried in file order
//     capabilities = ["pull", "resolve"]            # default: pull, resolve, push
//     skip_verify = true
//     ca = "/etc/certs/mirror.pem"                  # a path or a list of paths
//     override_path = true                          # the URL path replaces "/v2"
//     [host."http://127.0.0.1:5001".header]
//       x-custom = "value"
//
// http:// selects plain HTTP. docker.io's default server is https://registry-1.docker.io.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::transfer {

inline constexpr unsigned kCapPull = 1;
inline constexpr unsigned kCapResolve = 2;
inline constexpr unsigned kCapPush = 4;

struct RegistryHost {
  std::string scheme = "https";
  std::string host;        // "host[:port]"
  std::string path = "/v2";
  unsigned capabilities = kCapPull | kCapResolve | kCapPush;
  bool skip_verify = false;
  std::vector<std::string> ca_files;
  std::map<std::string, std::string> headers;

  // scheme://host + path, e.g. "https://registry-1.docker.io/v2".
  std::string BaseUrl() const;
};

struct HostOptions {
  std::string hosts_dir;     // "" = no hosts.toml lookup
  bool plain_http = false;   // the default server over http://
  bool skip_verify = false;  // the default server without TLS verification
};

// Parses one hosts.toml document for registry `host`; relative `ca` paths are taken from
// `base_dir` (the file's directory). InvalidArgument naming the key for malformed files
// (unknown keys are ignored, as containerd does, so newer files still load).
absl::StatusOr<std::vector<RegistryHost>> ParseHostsToml(absl::string_view toml,
                                                         const std::string& host,
                                                         const HostOptions& options,
                                                         const std::string& base_dir = "");

// The hosts to try for registry `host` (a reference's host, "docker.io" allowed), mirrors
// first, then the server. Reads the hosts.toml when present (a missing one is not an error);
// InvalidArgument for an unreadable or malformed one.
absl::StatusOr<std::vector<RegistryHost>> ConfigureHosts(const std::string& host,
                                                         const HostOptions& options);

}  // namespace berth::transfer
