// Cgroups: one interface, a v1 driver (one directory per hierarchy; hybrid hosts also join the
// unified hierarchy like runc) and a v2 driver. Drivers only touch files under the directories
// they were given, so tests run them against a temporary directory standing in for
// /sys/fs/cgroup.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/cgroup_layout.h"
#include "executor/builder.h"
#include "executor/spec.h"

namespace berth::executor {

// The host's layout comes from core (the daemon's runtime manager reads it too).
using cgroup::CgroupHierarchy;
using cgroup::CgroupLayout;
using cgroup::CgroupMode;
using cgroup::DetectCgroupLayout;
using cgroup::ParseCgroupLayout;

struct CgroupStats {
  uint64_t cpu_total = 0, cpu_user = 0, cpu_kernel = 0;  // nanoseconds
  std::vector<uint64_t> cpu_percpu;
  uint64_t throttled_periods = 0, throttled_time = 0, periods = 0;
  uint64_t memory_usage = 0, memory_max = 0, memory_limit = 0, memory_failcnt = 0;
  uint64_t swap_usage = 0, swap_limit = 0, memory_cache = 0;
  std::map<std::string, uint64_t> memory_raw;
  uint64_t pids_current = 0, pids_limit = 0;
};

class CgroupManager {
 public:
  virtual ~CgroupManager() = default;
  // mkdir of every directory (cpuset.cpus/mems initialised from the parent on v1, controllers
  // enabled in the parents' subtree_control on v2). Permission/NotFound from the kernel.
  virtual absl::Status Create() = 0;
  // Moves `pid` into the cgroup(s).
  virtual absl::Status Apply(pid_t pid) = 0;
  // Writes the limits. Fields left unset are not touched.
  virtual absl::Status Set(const Resources& resources) = 0;
  // Freezes or thaws, and waits until the kernel reports the new state.
  virtual absl::Status Freeze(bool frozen) = 0;
  virtual absl::StatusOr<bool> Frozen() = 0;
  // Processes in the cgroup (host pids).
  virtual absl::StatusOr<std::vector<pid_t>> Pids() = 0;
  virtual absl::StatusOr<CgroupStats> Stats() = 0;
  // Removes the directories (OK when absent). FailedPrecondition while processes remain.
  virtual absl::Status Destroy() = 0;
  // The cgroup.procs files a process writes "0" to in order to join (exec).
  virtual std::vector<std::string> ProcsFiles() const = 0;
  virtual CgroupMountInfo MountInfo(bool cgroupns) const = 0;
  // Key -> directory, as stored in state.json; "" is the v2 directory.
  virtual std::map<std::string, std::string> Paths() const = 0;
};

// Paths for the container's cgroup from linux.cgroupsPath with runc's cgroupfs semantics:
// absolute = from the hierarchy root, relative = below our own cgroup, empty = "<id>".
std::unique_ptr<CgroupManager> NewCgroupManager(const CgroupLayout& layout,
                                                const std::string& cgroups_path,
                                                const std::string& id);
// Re-opens the cgroup of an existing container from its stored Paths().
std::unique_ptr<CgroupManager> LoadCgroupManager(const std::map<std::string, std::string>& paths);

std::unique_ptr<CgroupManager> NewV1Manager(std::map<std::string, std::string> dirs);
std::unique_ptr<CgroupManager> NewV2Manager(std::string dir, std::string mount_point);

// Small file helpers shared by the drivers.
absl::Status WriteCgroupFile(const std::string& dir, const std::string& file,
                             const std::string& value);
absl::StatusOr<std::string> ReadCgroupFile(const std::string& dir, const std::string& file);
// The file's content without surrounding whitespace; "" when it cannot be read.
std::string ReadCgroupText(const std::string& dir, const std::string& file);
uint64_t ReadCgroupUint(const std::string& dir, const std::string& file);  // 0 on error/"max"
absl::StatusOr<std::vector<pid_t>> ReadPids(const std::string& file);
// rmdir of dir and any sub-cgroups, retried while the kernel reports EBUSY.
absl::Status RemoveCgroupDir(const std::string& dir);

}  // namespace berth::executor
