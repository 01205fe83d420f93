// [plugins."io.containerd.grpc.v1.cri"]: containerd 1.6's CRI section, read as it is so an
// existing containerd config carries over. Unknown keys are errors naming the key.
//
//   sandbox_image = "registry.k8s.io/pause:3.9"   # the infra image of "podsandbox" pods
//   stream_server_address = "127.0.0.1"  stream_server_port = "0"  stream_idle_timeout = "4h0m0s"
//   enable_tls_streaming = false  [..cri".x509_key_pair_streaming] tls_cert_file, tls_key_file
//   restrict_oom_score_adj = true         max_container_log_line_size = 16384
//   enable_selinux = false
//   [plugins."io.containerd.grpc.v1.cri".containerd]
//     snapshotter = "overlayfs"   default_runtime_name = "berth"
//     [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.berth]
//       runtime_type = "io.containerd.berth.v2"
//       sandbox_mode = "pauseless"   # or "podsandbox": a pause container holds the namespaces
//       [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.berth.options] ...
//   [plugins."io.containerd.grpc.v1.cri".cni]  bin_dir, conf_dir, max_conf_num
//   [plugins."io.containerd.grpc.v1.cri".registry]  config_path
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "toml++/toml.h"

namespace berth::cri {

inline constexpr char kCriNamespace[] = "k8s.io";

// Pod sandbox modes of a runtime handler. "podsandbox" is containerd's name (1.7's
// runtimes.<h>.sandbox_mode) for pods whose namespaces a pause container (sandbox_image) holds.
inline constexpr char kSandboxPauseless[] = "pauseless";
inline constexpr char kSandboxPod[] = "podsandbox";

struct RuntimeHandler {
  std::string runtime_type;                    // shim runtime name, e.g. io.containerd.runc.v2
  std::map<std::string, std::string> options;  // kept as text; shims read their own options
  // kSandboxPauseless (Berth's default: pinned namespaces, no pod process) or kSandboxPod.
  std::string sandbox_mode = kSandboxPauseless;
};

struct CriConfig {
  std::string sandbox_image = "registry.k8s.io/pause:3.9";
  std::string stream_server_address = "127.0.0.1";
  // containerd's default port is "10010"; ours is "0" (a random free port, shown in the URLs
  // Exec/Attach/PortForward return) so several daemons and test runs never collide.
  std::string stream_server_port = "0";
  // Go duration ("4h0m0s", "30m", "90s"): a streaming connection without traffic for this
  // long is closed. "0s" or "" = no idle timeout.
  std::string stream_idle_timeout = "4h0m0s";
  // TLS for the streaming server: not implemented; Validate() refuses true (see README).
  bool enable_tls_streaming = false;
  std::string tls_cert_file, tls_key_file;  // [x509_key_pair_streaming]
  bool restrict_oom_score_adj = true;  // this machine lacks CAP_SYS_RESOURCE: clamp (see README)
  int max_container_log_line_size = 16 * 1024;
  bool enable_selinux = false;
  std::string snapshotter = "overlayfs";
  std::string default_runtime_name = "berth";
  std::map<std::string, RuntimeHandler> runtimes = {
      {"berth", {"io.containerd.berth.v2", {}}},
      {"runc", {"io.containerd.runc.v2", {}}},
  };
  std::string cni_bin_dir = "/opt/cni/bin";
  std::string cni_conf_dir = "/etc/cni/net.d";
  int cni_max_conf_num = 1;
  std::string registry_config_path;

  // InvalidArgument naming an unknown or mistyped key.
  static absl::StatusOr<CriConfig> FromToml(const toml::table* section);
  // InvalidArgument: no runtime for default_runtime_name, a runtime without runtime_type,
  // a sandbox_mode other than "pauseless"/"podsandbox", a log line size below 0 (0 and negatives other than -1 mean "no limit" in containerd; we
  // accept -1 and positive values), a bad stream port or idle timeout, enable_tls_streaming
  // (Unimplemented: TLS streaming is not built yet).
  absl::Status Validate() const;
  toml::table ToToml() const;

  // The handler's runtime name; "" = default. NotFound naming an unknown handler.
  absl::StatusOr<std::string> RuntimeFor(const std::string& handler) const;
  // Whether pods of this handler run a pause container; NotFound naming an unknown handler.
  absl::StatusOr<bool> UsesPauseContainer(const std::string& handler) const;
  // stream_idle_timeout parsed; InvalidArgument naming the value. Zero = none.
  absl::StatusOr<absl::Duration> StreamIdleTimeout() const;
};

}  // namespace berth::cri
