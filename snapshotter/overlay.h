// The overlayfs snapshotter, plugin id "io.containerd.snapshotter.v1.overlayfs".
//
// Each snapshot owns <root>/snapshots/<id>/fs (its layer: the overlay upperdir while Active,
// a lowerdir once Committed) and, when Active, .../work (overlay's workdir). Layers are stacked
// with overlay lowerdir= lists, so a Prepare is O(1) whatever the parent's size.
//
// An Active's fs directory is exactly where a layer applier writes: overlay's on-disk format
// is what the applier must produce there — a whiteout is a 0/0 character device, an opaque
// directory carries xattr trusted.overlay.opaque=y.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter {

inline constexpr char kOverlayPluginId[] = "io.containerd.snapshotter.v1.overlayfs";
inline constexpr char kUpperdirLabel[] = "containerd.io/snapshot/overlay.upperdir";

// Config of [plugins."io.containerd.snapshotter.v1.overlayfs"] (containerd's keys).
struct OverlayConfig {
  // root_path: where records and layers live. Required (the plugin passes
  // <daemon root>/io.containerd.snapshotter.v1.overlayfs when the config leaves it empty).
  std::string root_path{};
  // upperdir_label: add label "containerd.io/snapshot/overlay.upperdir" = <fs dir> to every
  // new snapshot (for tools that want the upper directory). Default false.
  bool upperdir_label = false;
  // sync_remove: Remove deletes the snapshot's directory at once. Default false, as in
  // containerd: Remove only drops the record and Cleanup (the GC) deletes directories.
  bool sync_remove = false;
  // mount_options: extra options appended to every overlay mount (e.g. "volatile").
  std::vector<std::string> mount_options{};
};

// Opens (creating) the snapshotter at config.root_path. InvalidArgument for a relative or empty
// root, Unavailable when another process has it open, errors of creating directories.
// Does not check that overlay works on the host: see CheckOverlaySupport.
absl::StatusOr<std::unique_ptr<Snapshotter>> NewOverlaySnapshotter(const OverlayConfig& config);

// Mounts a tiny overlay in a temporary directory under `root` to see whether the kernel and
// the backing filesystem support it (the plugin skips itself otherwise). Needs root.
// OK, or the mount error (FailedPrecondition/Unimplemented/PermissionDenied...).
absl::Status CheckOverlaySupport(const std::string& root);

// Whether the running kernel has overlay's "index" option (then mounts pass index=off, as
// containerd does: the index ties lower layers to one upper and breaks reuse).
bool OverlayHasIndexOption();

}  // namespace berth::snapshotter
