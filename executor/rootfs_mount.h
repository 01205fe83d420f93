// The container's rootfs from a list of mounts (containerd's CreateTaskRequest.rootfs: one
// overlay, or a bind), mounted on <bundle>/rootfs by the executor when the caller asks it to.
//
// Why the executor and not the shim: mounted by the shim, the rootfs lives in the host's mount
// table for the container's life, and every mount namespace made afterwards copies that table
// (measured here: the init's clone took 0.25 ms with no container running, 0.46 ms with 200 and
// their 200 rootfs mounts). A throwaway caller (the shim's forked create helper) can instead
// leave the host's mount namespace first: the rootfs is then mounted only in that private copy
// and in the container's namespace cloned from it (the clone: 0.15 ms, 0.17 with 200), and goes
// away with the container's last process - the kernel unmounts a namespace's mounts when its
// last member exits, before the exit is reported - so deleting the task no longer unmounts
// (and syncs) the overlay either. The host's table stays as it was: nothing for systemd or
// `mount` to wade through.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/mount/mount.h"
#include "executor/spec.h"

namespace berth::executor {

// False when something outside the container may need the rootfs in the host's mount
// namespace: OCI hooks (poststart and poststop run from the host's namespace and get the
// bundle; the others may mount into the rootfs from outside) or shared propagation, whose
// mounts must stay peers of the host's.
bool RootfsMayBePrivate(const Spec& spec);

// unshare(CLONE_NEWNS), then every mount of the copy a slave: nothing mounted from here on
// reaches the host, while the host's own later mounts still arrive (as in the container).
absl::Status LeaveHostMountNamespace();

// Creates <bundle>/rootfs if needed and mounts `mounts` on it (mount::MountAll: all or none).
// No mounts: nothing to do.
absl::Status MountBundleRootfs(const std::vector<mount::Mount>& mounts, const std::string& bundle);

}  // namespace berth::executor
