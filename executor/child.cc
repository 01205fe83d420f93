// The child side of container setup. Runs after clone(): no allocation, no logging, no locks;
// only the prepared plans and Kernel calls. Order follows runc's standard init:
// namespaces -> hostname -> rootfs (propagation, bind, mounts, devices, pivot_root, masks,
// createContainer hooks, read-only root) -> console -> rlimits -> no_new_privs/seccomp -> identity/capabilities ->
// cwd -> wait for start -> execve.
#include <fcntl.h>
#include <linux/limits.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "executor/plan.h"

namespace berth::executor {
namespace {

// Mount point for a bind of a file must be a file; everything else a directory.
int PrepareTarget(Kernel& k, const MountOp& op) {
  if (!op.file_target) return MkdirAllNoAlloc(k, op.target.c_str(), 0755);
  char parent[PATH_MAX];
  size_t n = op.target.size();
  if (n >= sizeof(parent)) return -ENAMETOOLONG;
  memcpy(parent, op.target.c_str(), n + 1);
  char* slash = strrchr(parent, '/');
  if (slash != nullptr && slash != parent) {
    *slash = '\0';
    int r = MkdirAllNoAlloc(k, parent, 0755);
    if (r < 0) return r;
  }
  int r = k.CreateFile(op.target.c_str());
  return r == -EEXIST ? 0 : r;
}

int DoMount(Kernel& k, const MountOp& op, int index, ChildMessage* err) {
  int r = PrepareTarget(k, op);
  if (r < 0) return FailChild(err, Step::kMkdirMountpoint, r, index);
  const char* fstype = op.fstype.empty() ? nullptr : op.fstype.c_str();
  const char* data = op.data.empty() ? nullptr : op.data.c_str();
  r = k.Mount(op.source.c_str(), op.target.c_str(), fstype, op.flags, data);
  if (r == -EPERM && op.sysfs_fallback) {
    r = k.Mount("/sys", op.target.c_str(), nullptr, MS_BIND | MS_REC, nullptr);
    if (r == 0) {
      r = k.Mount(nullptr, op.target.c_str(), nullptr,
                  MS_BIND | MS_REMOUNT | MS_REC | (op.flags & ~(MS_BIND | MS_REC)), nullptr);
    }
  }
  if (r < 0) return FailChild(err, Step::kMount, r, index);
  if (op.remount) {
    r = k.Mount(nullptr, op.target.c_str(), nullptr, op.flags | MS_REMOUNT, nullptr);
    if (r < 0) return FailChild(err, Step::kRemountMount, r, index);
  }
  if (op.propagation != 0) {
    r = k.Mount(nullptr, op.target.c_str(), nullptr, op.propagation, nullptr);
    if (r < 0) return FailChild(err, Step::kMountPropagation, r, index);
  }
  return 0;
}

int DoDevice(Kernel& k, const DeviceOp& d, int index, ChildMessage* err) {
  int r = MkdirAllNoAlloc(k, d.parent.c_str(), 0755);
  if (r < 0) return FailChild(err, Step::kDevice, r, index);
  if (d.bind) {
    r = k.CreateFile(d.target.c_str());
    if (r < 0 && r != -EEXIST) return FailChild(err, Step::kDevice, r, index);
    r = k.Mount(d.host_path.c_str(), d.target.c_str(), nullptr, MS_BIND, nullptr);
    return r < 0 ? FailChild(err, Step::kDevice, r, index) : 0;
  }
  r = k.Mknod(d.target.c_str(), d.mode, d.dev);
  if (r == -EEXIST) {
    // The image ships its own node: replace it so the spec's numbers win.
    k.Unlink(d.target.c_str());
    r = k.Mknod(d.target.c_str(), d.mode, d.dev);
  }
  if (r < 0) return FailChild(err, Step::kDevice, r, index);
  r = k.Chown(d.target.c_str(), d.uid, d.gid);
  return r < 0 ? FailChild(err, Step::kDevice, r, index) : 0;
}

int DoPivot(Kernel& k, const RootfsPlan& plan, ChildMessage* err) {
  int r = k.Chdir(plan.rootfs.c_str());
  if (r < 0) return FailChild(err, Step::kPivotRoot, r);
  if (!plan.pivot) {
    r = k.Mount(plan.rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr);
    if (r == 0) r = k.Chroot(".");
    if (r == 0) r = k.Chdir("/");
    return r < 0 ? FailChild(err, Step::kPivotRoot, r) : 0;
  }
  // pivot_root(".", ".") stacks the old root under the new one; detach it right away.
  r = k.PivotRoot(".", ".");
  if (r < 0) return FailChild(err, Step::kPivotRoot, r);
  r = k.Mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr);
  if (r == 0) r = k.Umount2(".", MNT_DETACH);
  if (r == 0) r = k.Chdir("/");
  return r < 0 ? FailChild(err, Step::kPivotRoot, r) : 0;
}

int DoMasksAndReadonly(Kernel& k, const RootfsPlan& plan, ChildMessage* err) {
  for (size_t i = 0; i < plan.readonly.size(); ++i) {
    const char* p = plan.readonly[i].c_str();
    int r = k.Mount(p, p, nullptr, MS_BIND | MS_REC, nullptr);
    if (r == -ENOENT) continue;
    if (r == 0) {
      r = k.Mount(p, p, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, nullptr);
    }
    if (r < 0) return FailChild(err, Step::kReadonlyPath, r, static_cast<int>(i));
  }
  for (size_t i = 0; i < plan.masked.size(); ++i) {
    const char* p = plan.masked[i].c_str();
    int dir = k.IsDir(p);
    if (dir == -ENOENT) continue;
    int r = dir == 1 ? k.Mount("tmpfs", p, "tmpfs", MS_RDONLY, nullptr)
                     : k.Mount("/dev/null", p, nullptr, MS_BIND, nullptr);
    if (r < 0 && r != -ENOENT) return FailChild(err, Step::kMaskPath, r, static_cast<int>(i));
  }
  if (plan.readonly_root) {
    int r = k.Mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr);
    if (r == -EPERM) {
      // Locked flags (user namespaces) must be kept on a remount.
      long flags = k.MountFlags("/");
      if (flags < 0) return FailChild(err, Step::kReadonlyRoot, static_cast<int>(flags));
      const long kKeep = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME |
                         MS_RELATIME;
      r = k.Mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | (flags & kKeep),
                  nullptr);
    }
    if (r < 0) return FailChild(err, Step::kReadonlyRoot, r);
  }
  return 0;
}

}  // namespace

int RunHookPlan(const HookPlan& plan, Step step, Kernel& k, ChildMessage* err) {
  if (plan.hooks.empty()) return 0;
  // The pid as the container sees it (runc: unix.Getpid() in its init), in decimal.
  char digits[16];
  char* end = digits + sizeof(digits);
  char* d = end;
  unsigned long pid = static_cast<unsigned long>(k.Getpid());
  do {
    *--d = static_cast<char>('0' + pid % 10);
    pid /= 10;
  } while (pid > 0);
  struct iovec in[3] = {
      {const_cast<char*>(plan.state_prefix.data()), plan.state_prefix.size()},
      {d, static_cast<size_t>(end - d)},
      {const_cast<char*>(plan.state_suffix.data()), plan.state_suffix.size()}};
  for (size_t i = 0; i < plan.hooks.size(); ++i) {
    const HookOp& h = plan.hooks[i];
    int r = k.RunHook(h.path.c_str(), h.argv.data(), h.envp.data(), in, 3, h.timeout_sec);
    if (r == 0) continue;
    bool ran = r > 0 || r == -ETIMEDOUT;  // else it could not be started: r is -errno
    FailChild(err, step, ran ? 0 : r, static_cast<int>(i));
    err->status = r == -ETIMEDOUT ? -1 : (r > 0 ? r : 0);
    return -1;
  }
  return 0;
}

int MkdirAllNoAlloc(Kernel& k, const char* path, mode_t mode) {
  char buf[PATH_MAX];
  size_t n = strlen(path);
  if (n == 0) return 0;
  if (n >= sizeof(buf)) return -ENAMETOOLONG;
  memcpy(buf, path, n + 1);
  int r = k.IsDir(buf);
  if (r == 1) return 0;
  if (r == 0) return -ENOTDIR;
  for (size_t i = 1; i <= n; ++i) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char saved = buf[i];
    buf[i] = '\0';
    r = k.Mkdir(buf, mode);
    if (r < 0 && r != -EEXIST) return r;
    buf[i] = saved;
  }
  return 0;
}

int RunNamespaceSetup(const NamespacePlan& plan, Kernel& k, ChildMessage* err) {
  for (size_t i = 0; i < plan.join.size(); ++i) {
    int r = k.Setns(plan.join[i].first, plan.join[i].second);
    if (r < 0) return FailChild(err, Step::kSetns, r, static_cast<int>(i));
  }
  if (plan.become_root) {
    int r = k.Setresgid(0);
    if (r == 0) r = k.Setresuid(0);
    if (r < 0) return FailChild(err, Step::kBecomeRoot, r);
  }
  if (plan.unshare_cgroup) {
    int r = k.Unshare(CLONE_NEWCGROUP);
    if (r < 0) return FailChild(err, Step::kUnshareCgroup, r);
  }
  return 0;
}

int RunRootfsSetup(const RootfsPlan& plan, Kernel& k, ChildMessage* err) {
  int r;
  if (plan.set_hostname &&
      (r = k.Sethostname(plan.hostname.c_str(), plan.hostname.size())) < 0) {
    return FailChild(err, Step::kHostname, r);
  }
  if (plan.set_domainname &&
      (r = k.Setdomainname(plan.domainname.c_str(), plan.domainname.size())) < 0) {
    return FailChild(err, Step::kDomainname, r);
  }
  for (size_t i = 0; i < plan.sysctls.size(); ++i) {
    const auto& [path, value] = plan.sysctls[i];
    if ((r = k.WriteFile(path.c_str(), value.c_str(), value.size())) < 0) {
      return FailChild(err, Step::kSysctl, r, static_cast<int>(i));
    }
  }
  if ((r = k.Mount(nullptr, "/", nullptr, plan.root_propagation, nullptr)) < 0) {
    return FailChild(err, Step::kRootPropagation, r);
  }
  if ((r = k.Mount(plan.rootfs.c_str(), plan.rootfs.c_str(), nullptr, MS_BIND | MS_REC,
                   nullptr)) < 0) {
    return FailChild(err, Step::kBindRootfs, r);
  }
  for (size_t i = 0; i < plan.mounts.size(); ++i) {
    if (DoMount(k, plan.mounts[i], static_cast<int>(i), err) < 0) return -1;
  }
  for (size_t i = 0; i < plan.devices.size(); ++i) {
    if (DoDevice(k, plan.devices[i], static_cast<int>(i), err) < 0) return -1;
  }
  for (size_t i = 0; i < plan.symlinks.size(); ++i) {
    r = k.Symlink(plan.symlinks[i].first.c_str(), plan.symlinks[i].second.c_str());
    if (r == -EEXIST) {
      k.Unlink(plan.symlinks[i].second.c_str());
      r = k.Symlink(plan.symlinks[i].first.c_str(), plan.symlinks[i].second.c_str());
    }
    if (r < 0 && r != -EEXIST) return FailChild(err, Step::kSymlink, r, static_cast<int>(i));
  }
  if (!plan.cwd_target.empty()) {
    // runc creates a missing cwd too; failure surfaces later as a chdir error.
    MkdirAllNoAlloc(k, plan.cwd_target.c_str(), 0755);
  }
  // OCI createContainer: in the container's namespaces, after the mounts, before pivot_root
  // (runc runs them at the end of prepareRootfs).
  if (RunHookPlan(plan.create_container, Step::kCreateContainerHook, k, err) < 0) return -1;
  if (DoPivot(k, plan, err) < 0) return -1;
  return DoMasksAndReadonly(k, plan, err);
}

}  // namespace berth::executor
