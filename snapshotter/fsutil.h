// Filesystem helpers of the snapshotters (internal to snapshotter/).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter {

// Disk usage of a tree without following symlinks or leaving its filesystem: size is the sum
// of st_blocks*512 and inodes the count of distinct inodes, each hardlinked inode once
// (containerd's fs.DiskUsage). NotFound when `root` does not exist.
absl::StatusOr<snapshotter::Usage> DiskUsage(const std::string& root);

// Copies the tree under `src` into the existing directory `dst` the way containerd's native
// snapshotter does (continuity fs.CopyDir): regular files are copied (never hardlinked to
// `src`), hardlinks inside the tree stay hardlinks inside the copy, and directories, symlinks,
// device nodes, fifos and sockets are recreated; owner, mode (incl. setuid/sticky), xattrs
// (trusted.*, security.*, user.*) and timestamps are preserved. `dst`'s own attributes are set
// from `src`'s root.
absl::Status CopyDir(const std::string& src, const std::string& dst);

// Names in a directory, without "." and "..", unsorted.
absl::StatusOr<std::vector<std::string>> ReadDirNames(const std::string& dir);

// rm -rf of `path` that refuses (FailedPrecondition) when anything is mounted at or below it,
// so a still-mounted snapshot never loses its data. OK when `path` does not exist.
absl::Status RemoveTreeIfUnmounted(const std::string& path);

}  // namespace berth::snapshotter
