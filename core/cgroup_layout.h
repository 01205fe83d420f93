// Where this host mounts its cgroup hierarchies and where this process sits in each, from
// /proc/self/mountinfo and /proc/self/cgroup. Used by the executor's cgroup drivers and by the
// daemon's runtime manager (shim-v2/manager/cgroup_warmer.h).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::cgroup {

enum class CgroupMode { kV1, kHybrid, kV2 };

struct CgroupHierarchy {
  std::string mount_point;               // /sys/fs/cgroup/cpu,cpuacct
  std::string root;                      // mountinfo "root" field, usually "/"
  std::vector<std::string> controllers;  // cpu cpuacct (name=systemd for named ones)
  std::string own_path;                  // our cgroup in it (/proc/self/cgroup)
};

struct CgroupLayout {
  CgroupMode mode = CgroupMode::kV1;
  std::vector<CgroupHierarchy> v1;
  std::string unified_mount;  // empty when there is no cgroup2 mount
  std::string unified_root = "/";
  std::string unified_own_path = "/";
};

// Pure: builds the layout from /proc/self/mountinfo and /proc/self/cgroup contents (or
// /proc/thread-self/cgroup, for one thread's place).
CgroupLayout ParseCgroupLayout(absl::string_view mountinfo, absl::string_view self_cgroup);
// Reads /proc/self/mountinfo and `self_cgroup_file`. Internal error when they cannot be read.
absl::StatusOr<CgroupLayout> DetectCgroupLayout(
    const std::string& self_cgroup_file = "/proc/self/cgroup");

// The directory of cgroup `path` (as /proc/self/cgroup or a cgroupsPath names it) in a
// hierarchy mounted at `mount` whose mountinfo root is `root`.
std::string DirUnderMount(const std::string& mount, const std::string& root,
                          absl::string_view path);

}  // namespace berth::cgroup
