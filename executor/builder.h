// Parent side: turns a Spec into the allocation-free plans of plan.h.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "executor/plan.h"
#include "executor/spec.h"

namespace berth::executor {

// What a mount of type "cgroup" shows: v1 = one bind per hierarchy (dir name, host directory
// of the container's cgroup); v2 = the container's cgroup directory (or a fresh cgroup2 mount
// inside a cgroup namespace).
struct CgroupMountInfo {
  bool unified = false;
  bool cgroupns = false;
  std::vector<std::pair<std::string, std::string>> v1;
  std::string v2_dir;
};

struct RootfsOptions {
  std::string bundle;  // absolute
  bool no_pivot = false;
  bool userns = false;  // devices are bind-mounted instead of mknod'ed
  uid_t root_uid = 0;   // host ids of container root, for device ownership
  gid_t root_gid = 0;
  CgroupMountInfo cgroups;
};

// Mount options -> (flags, propagation flags, data string). Unknown options go to data.
struct ParsedMountOptions {
  unsigned long flags = 0;
  unsigned long propagation = 0;
  std::string data;
  bool bind = false;
};
ParsedMountOptions ParseMountOptions(const std::vector<std::string>& options);

// Resolves `unsafe` (a container path) under `root` following symlinks without escaping root
// (securejoin semantics). Missing trailing components are appended as they are.
std::string SecureJoin(const std::string& root, const std::string& unsafe);

// InvalidArgument for a relative mount destination or a bad device type.
absl::StatusOr<RootfsPlan> BuildRootfsPlan(const Spec& spec, const RootfsOptions& opts);

// `seccomp` may be null. `rootfs` is where PATH lookup happens before pivot_root ("" = after:
// candidates are container paths). InvalidArgument for empty args, or a bad seccomp profile.
absl::StatusOr<ProcessPlan> BuildProcessPlan(const Process& process, const Seccomp* seccomp);

// runc's HOME default: when `env` has no HOME, adds the home of `uid` from
// <rootfs>/etc/passwd (or "/" when not listed). Symlinks in the path are resolved in rootfs.
void AddDefaultHome(const std::string& rootfs, uint32_t uid, std::vector<std::string>& env);

// Compiles an OCI seccomp profile to classic BPF (libseccomp's seccomp_export_bpf).
absl::StatusOr<std::vector<sock_filter>> CompileSeccomp(const Seccomp& profile,
                                                        unsigned int* flags);

}  // namespace berth::executor
