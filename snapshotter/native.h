// The native snapshotter, plugin id "io.containerd.snapshotter.v1.native": no overlay, every
// Active snapshot with a parent starts as a full copy of the parent's tree (owners, modes,
// xattrs, devices, symlinks and in-tree hardlinks preserved; nothing shared with the parent).
// Works on any filesystem and without overlay support, at the cost of disk and Prepare time.
//
// Layout: <root>/snapshots/<id>/fs. Mounts are always one bind: Active -> its own fs, rw;
// View -> the parent's fs (ro), or its own empty fs when it has no parent.
// A layer applier must apply whiteouts by deleting (no overlay format here).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter {

inline constexpr char kNativePluginId[] = "io.containerd.snapshotter.v1.native";

// Config of [plugins."io.containerd.snapshotter.v1.native"].
struct NativeConfig {
  // root_path: where records and trees live. Required (the plugin passes
  // <daemon root>/io.containerd.snapshotter.v1.native when the config leaves it empty).
  std::string root_path{};
};

// Opens (creating) the snapshotter. Removal is synchronous. Errors as NewOverlaySnapshotter.
absl::StatusOr<std::unique_ptr<Snapshotter>> NewNativeSnapshotter(const NativeConfig& config);

}  // namespace berth::snapshotter
