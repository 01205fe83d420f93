#include "executor/rootfs_mount.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>

#include "core/status.h"
#include "core/status_macros.h"

namespace berth::executor {
namespace {

bool IsShared(const std::string& propagation) {
  return propagation == "shared" || propagation == "rshared";
}

bool HasHooks(const Hooks& h) {
  return !h.prestart.empty() || !h.create_runtime.empty() || !h.create_container.empty() ||
         !h.start_container.empty() || !h.poststart.empty() || !h.poststop.empty();
}

}  // namespace

bool RootfsMayBePrivate(const Spec& spec) {
  if (HasHooks(spec.hooks) || IsShared(spec.linux.rootfs_propagation)) return false;
  for (const auto& m : spec.mounts) {
    for (const auto& o : m.options) {
      if (IsShared(o)) return false;
    }
  }
  return true;
}

absl::Status LeaveHostMountNamespace() {
  if (unshare(CLONE_NEWNS) != 0) return ErrnoStatus("unshare mount namespace");
  if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
    return ErrnoStatus("make the private mount namespace a slave");
  }
  return absl::OkStatus();
}

absl::Status MountBundleRootfs(const std::vector<mount::Mount>& mounts, const std::string& bundle) {
  if (mounts.empty()) return absl::OkStatus();
  std::string rootfs = bundle + "/rootfs";
  if (mkdir(rootfs.c_str(), 0711) != 0 && errno != EEXIST) return ErrnoStatus("mkdir " + rootfs);
  return Annotate(mount::MountAll(mounts, rootfs), "mount rootfs");
}

}  // namespace berth::executor
