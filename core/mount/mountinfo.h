// Reading /proc/self/mountinfo (proc(5)): which paths are mount points, what is mounted below
// a directory. Parsing is pure and testable without root.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/mount/mount.h"

namespace berth::mount {

// One line of mountinfo. Paths are unescaped (the kernel writes ' ', '\t', '\n', '\\' as
// octal escapes such as "\040").
struct MountInfo {
  int id = 0;
  int parent = 0;
  unsigned major = 0;
  unsigned minor = 0;
  std::string root;           // path inside the filesystem that is mounted here
  std::string mount_point;    // absolute, in this process' mount namespace
  std::string options;        // per-mount options ("rw,nosuid,relatime")
  std::vector<std::string> optional;  // "shared:1", "master:2", ...
  std::string fs_type;
  std::string source;
  std::string super_options;  // per-superblock options (overlay's lowerdir=... is here)
};

// Parses mountinfo text. InvalidArgument naming the line for a malformed line.
absl::StatusOr<std::vector<MountInfo>> ParseMountInfo(absl::string_view text);

// Parses /proc/self/mountinfo.
absl::StatusOr<std::vector<MountInfo>> ReadSelfMountInfo();

// True when `path` (made absolute and symlink-free with realpath) is a mount point in this
// mount namespace. NotFound when `path` does not exist.
absl::StatusOr<bool> IsMountPoint(const std::string& path);

// Pure: the entries whose mount point is `prefix` or below it (path-component aware:
// "/a/b" is under "/a", "/ab" is not), deepest first — the order to unmount them in.
std::vector<MountInfo> MountsUnder(const std::vector<MountInfo>& mounts,
                                   const std::string& prefix);

// MountsUnder on /proc/self/mountinfo, with `prefix` resolved by realpath when it exists.
absl::StatusOr<std::vector<MountInfo>> ListMountsUnder(const std::string& prefix);

// Unmounts everything at or below `prefix`, deepest first (UnmountAll on each). OK when
// nothing is mounted there.
absl::Status UnmountRecursive(const std::string& prefix, const UnmountOptions& opts = {});

}  // namespace berth::mount
