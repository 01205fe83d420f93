// Keeps a container's mount namespace alive past its last process, so that tearing it down -
// unmounting every mount in it, an expedited RCU grace period, and for an overlay rootfs a sync
// of the whole upper file system (ovl_sync_fs at the superblock's shutdown) - is not done by
// the init's exit. Without the pin the kernel does all of that in do_exit before the parent's
// SIGCHLD: ~1 ms here between the container's last instruction and the shim seeing the exit.
// With it the exit is reported first and the pin is released right after, on the exit
// handler's thread, while the client is still busy with the exit; Delete releases it (or waits
// for the release under way) before it answers, so the rootfs is gone when Delete returns, as
// containerd promises.
#pragma once

#include <sys/types.h>

#include "absl/synchronization/mutex.h"

namespace berth::shim {

class MountNamespacePin {
 public:
  // Opens /proc/<pid>/ns/mnt. A pin that could not be taken (the process is already gone) is
  // empty: Release does nothing and the kernel tears the namespace down as usual.
  explicit MountNamespacePin(pid_t pid);
  ~MountNamespacePin() { Release(); }
  MountNamespacePin(const MountNamespacePin&) = delete;
  MountNamespacePin& operator=(const MountNamespacePin&) = delete;

  // Drops the reference; when it was the last one (the container's processes are gone) the
  // namespace is torn down in this call. A second caller waits for the first to finish.
  void Release();

 private:
  absl::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_) = -1;
};

}  // namespace berth::shim
