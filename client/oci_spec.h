// OCI runtime spec generation for `run`, in containerd's shape: the default Linux spec of
// oci.WithDefaultSpec, the image config applied like oci.WithImageConfigArgs, then the
// docker-like options of `berthctl run`. Specs are nlohmann::json (config.json's schema).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace berth::client {

// The PATH containerd puts in a spec whose image config has no Env.
inline constexpr char kDefaultPathEnv[] =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct BindMount {
  std::string source;       // on the host
  std::string destination;  // in the container
  bool read_only = false;
};

enum class NetworkMode { kNone, kHost };

struct SpecOptions {
  std::vector<std::string> args;  // replaces the image's Cmd (Entrypoint stays in front)
  std::vector<std::string> env;   // "K=V" set/override; "K" alone unsets K
  std::vector<BindMount> mounts;
  std::string user;      // "uid", "uid:gid", "name", "name:group" ("" = the image's User)
  std::string cwd;       // "" = the image's WorkingDir or "/"
  int64_t memory_bytes = 0;  // 0 = no limit
  double cpus = 0;           // 0 = no quota; 1.5 = 150000us per 100000us period
  std::string hostname;      // "" = none set
  bool read_only = false;    // read-only rootfs
  NetworkMode net = NetworkMode::kNone;
  bool terminal = false;
};

// Reads a file of the container's rootfs ("/etc/passwd"); NotFound when absent. Used to
// resolve user and group names; may be null (names are then InvalidArgument).
using RootfsReader = std::function<absl::StatusOr<std::string>(const std::string& path)>;

// containerd's default Linux spec for container `id` in namespace `ns`: mounts /proc /dev
// /dev/pts /dev/shm /dev/mqueue /sys /run /sys/fs/cgroup, the default capability set, masked
// and read-only paths, pid/ipc/uts/mount/network namespaces, RLIMIT_NOFILE 1024, cgroupsPath
// /<ns>/<id>, root "rootfs", cwd "/", no_new_privileges.
nlohmann::json DefaultSpec(const std::string& ns, const std::string& id);

// containerd's replaceOrAppendEnvValues: overrides replace same-key defaults, new keys are
// appended, a bare "K" removes K.
std::vector<std::string> ReplaceOrAppendEnv(const std::vector<std::string>& defaults,
                                            const std::vector<std::string>& overrides);

// Applies an image config blob ({"config": {Entrypoint, Cmd, Env, WorkingDir, User}}) to
// `spec`: env = image Env (or PATH default) with the spec's env on top, args = Entrypoint +
// (args or Cmd), cwd, user. InvalidArgument when there is nothing to run or the user cannot be
// resolved; NotFound for an unknown user/group name.
absl::Status ApplyImageConfig(const nlohmann::json& image_config,
                              const std::vector<std::string>& args, const RootfsReader& rootfs,
                              nlohmann::json* spec);

// Resolves "uid[:gid]" / "name[:group]" against /etc/passwd and /etc/group of the rootfs and
// sets process.user. A bare uid takes its primary gid from /etc/passwd when listed, else 0.
absl::Status ApplyUser(const std::string& user, const RootfsReader& rootfs, nlohmann::json* spec);

// The whole spec for `berthctl run`: default + image config + options.
absl::StatusOr<nlohmann::json> GenerateSpec(const std::string& ns, const std::string& id,
                                            const nlohmann::json& image_config,
                                            const SpecOptions& options,
                                            const RootfsReader& rootfs = nullptr);

// The process spec of an exec: the container's process with new args/terminal/env on top.
nlohmann::json ExecProcessSpec(const nlohmann::json& container_spec,
                               const std::vector<std::string>& args, bool terminal,
                               const std::vector<std::string>& env = {});

// "512m", "1g", "1048576", "100k" (binary units, like docker). InvalidArgument otherwise.
absl::StatusOr<int64_t> ParseMemory(absl::string_view text);
// "HOST:CTR[:ro|rw]"; HOST must be absolute. InvalidArgument otherwise.
absl::StatusOr<BindMount> ParseVolume(absl::string_view text);

}  // namespace berth::client
