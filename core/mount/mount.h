// berth::mount — describing, performing and undoing mounts (containerd's mount package).
//
// A Mount is data: what containerd's snapshotters return from Prepare/View/Mounts and what the
// gRPC API carries (containerd.types.Mount: type, source, target, options). Performing it is
// MountAll; undoing it Unmount / UnmountAll. All functions here are Linux-only and need
// CAP_SYS_ADMIN unless stated otherwise.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::mount {

struct Mount {
  std::string type{};   // "bind", "overlay", "tmpfs", ... ("bind" is mount(2) with MS_BIND)
  std::string source{}; // a path for binds, a free word ("overlay") for virtual filesystems
  std::string target{}; // optional: path relative to the MountAll target ("" = the target itself)
  std::vector<std::string> options{};  // fstab-style: "ro", "rbind", "lowerdir=...", ...

  bool operator==(const Mount&) const = default;
};

// The result of splitting fstab-style options into what mount(2) needs.
struct ParsedOptions {
  unsigned long flags = 0;              // MS_* flags for the main mount(2) call
  unsigned long propagation = 0;        // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (|MS_REC)
  std::vector<std::string> data;        // everything the kernel does not take as a flag
  std::string DataString() const;       // data joined with ","
};

// Pure: maps known flag words (ro, rw, bind, rbind, nosuid, nodev, noexec, sync, remount,
// [no]atime, relatime, strictatime, dirsync, mand, defaults, ...) to MS_* flags, "rw"/"suid"/...
// clearing what their opposite set; propagation words ([r]shared, [r]slave, [r]private,
// [r]unbindable) go to `propagation`; anything else is kept verbatim in `data`, in order.
ParsedOptions ParseOptions(const std::vector<std::string>& options);

// Overlay data longer than a page cannot be passed to mount(2) (the kernel copies one page,
// including the terminating NUL). Pure helper, exposed for tests: when `data` holds a
// lowerdir= whose directories share a parent, returns {common_dir, data with lowerdirs made
// relative to common_dir}. Returns {"", data} when nothing can be compacted.
struct CompactedData {
  std::string chdir;  // "" = no chdir needed
  std::string data;
};
CompactedData CompactLowerdirs(const std::string& data);

// The largest mount data mount(2) accepts (page size - 1 for the NUL).
size_t MaxMountDataLength();

// Mounts `m` at `target` (m.target, when set, is joined under `target`). Binds with "ro" are
// remounted read-only (a bind ignores MS_RDONLY on the first call); propagation flags are
// applied with a second call.
// Long overlays: mount(2) takes at most one page of data. Like containerd, an overlay whose
// data does not fit is compacted (CompactLowerdirs) and mounted from a forked child that
// chdir()s into the lowerdirs' common parent — a child, because chdir is per process and the
// daemon's other threads must not see it move. If even the relative list is too long, the new
// mount API is used (fsopen/fsconfig with one "lowerdir+" per layer, Linux >= 6.5), which
// has no total limit. Plain mount(2) stays the first choice: it works on every kernel.
// Errors: InvalidArgument (empty type, non-overlay data longer than a page), NotFound
// (missing source/target), PermissionDenied, others from errno.
absl::Status MountOne(const Mount& m, const std::string& target);

// Mounts every entry in order. On failure the ones already mounted are unmounted again (in
// reverse) before returning the first error.
absl::Status MountAll(const std::vector<Mount>& mounts, const std::string& target);

struct UnmountOptions {
  bool detach = false;      // MNT_DETACH: lazy unmount
  int busy_retries = 50;    // EBUSY retries, 20 ms apart (a process may still be exiting)
};

// Unmounts the top mount on `target`. InvalidArgument when `target` is not a mount point,
// NotFound when it does not exist, FailedPrecondition when still busy after the retries.
absl::Status Unmount(const std::string& target, const UnmountOptions& opts = {});

// Unmounts every mount stacked on `target` until it is no longer a mount point. OK when
// `target` is not mounted or does not exist.
absl::Status UnmountAll(const std::string& target, const UnmountOptions& opts = {});

}  // namespace berth::mount
