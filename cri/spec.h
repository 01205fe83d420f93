// The OCI runtime spec (config.json) of a CRI container, built from its ContainerConfig, the
// image config and the pod, following containerd's pkg/cri/opts (spec_linux.go): command/args
// merged with Entrypoint/Cmd, env (image first, then config), mounts with propagation, devices,
// resources, the security context and the pod's namespaces joined by path.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "cri/netns.h"
#include "nlohmann/json.hpp"
#include "proto/cri_api.h"

namespace berth::cri {

// The type URL of a container record's spec Any, as containerd stores it.
inline constexpr char kSpecTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";

struct SpecInputs {
  std::string id;
  const ::runtime::v1::ContainerConfig* config = nullptr;
  const ::runtime::v1::PodSandboxConfig* sandbox = nullptr;
  nlohmann::json image_config;  // the image config blob ({"config": {...}})
  PodNamespaces pod_ns;
  std::string sandbox_id;
  std::string sandbox_files_dir;  // hosts, resolv.conf, hostname of the pod ("" = none)
  bool restrict_oom_score_adj = true;
  int daemon_oom_score_adj = 0;  // the floor when restricting
  // PID NamespaceMode TARGET: /proc/<pid>/ns/pid of the target container's init ("" otherwise).
  std::string target_pid_ns;
  // PID NamespaceMode POD: /proc/<pid>/ns/pid of the pod's infra (pause) process ("" = none).
  std::string pod_pid_ns;
};

// InvalidArgument: no command at all (neither config nor image), a relative working dir or
// mount path, a Localhost seccomp profile that cannot be read or parsed, a device that is not a
// device node, an AppArmor profile other than unconfined/runtime default (not available here).
absl::StatusOr<nlohmann::json> BuildSpec(const SpecInputs& in);

// The process args: Entrypoint/Cmd overridden as Docker and containerd do (command replaces
// Entrypoint and drops Cmd; args alone replace Cmd). Exposed for tests.
std::vector<std::string> ProcessArgs(const ::runtime::v1::ContainerConfig& config,
                                     const nlohmann::json& image_config);

// The string `key` of the image config's "config" object (User, WorkingDir, StopSignal), or
// `fallback` when it is absent or not a string: image configs come from registries and any
// client, and a wrong type must read as a default, not throw.
std::string ImageConfigString(const nlohmann::json& image_config, const char* key,
                              const std::string& fallback = "");

// The default seccomp profile shipped with Berth (RuntimeDefault): allow everything except the
// syscalls Docker's and containerd's default profiles refuse to unprivileged containers.
nlohmann::json DefaultSeccompProfile();

// Applies add/drop (with "ALL") to the default capability set. Names with or without "CAP_".
std::vector<std::string> EffectiveCapabilities(const ::runtime::v1::Capability& caps,
                                               bool privileged);

// The OCI linux.resources of CRI resources, oom_score_adj clamped (see SpecInputs).
nlohmann::json LinuxResources(const ::runtime::v1::LinuxContainerResources& r);

}  // namespace berth::cri
