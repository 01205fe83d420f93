// Everything the container's first process does between clone() and execve(), prepared in the
// parent (which may allocate) so that the child only walks these structures and makes system
// calls. Failures come back as a ChildError {step, errno, index}; the parent turns it into a
// Status naming the step and the object ("mount /proc: Operation not permitted").
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "executor/kernel.h"

namespace berth::executor {

// Fixed steps of the setup; the order of this enum is the wire format of ChildError.
enum class Step : int32_t {
  kNone = 0,
  kWaitParent,
  kSetns,
  kUnshareCgroup,
  kBecomeRoot,
  kHostname,
  kDomainname,
  kSysctl,
  kRootPropagation,
  kBindRootfs,
  kMkdirMountpoint,
  kMount,
  kRemountMount,
  kMountPropagation,
  kDevice,
  kSymlink,
  kPivotRoot,
  kMaskPath,
  kReadonlyPath,
  kReadonlyRoot,
  kConsole,
  kRlimit,
  kOomScoreAdj,
  kNoNewPrivs,
  kSeccomp,
  kCapBounding,
  kSetgroups,
  kSetgid,
  kSetuid,
  kCapset,
  kAmbient,
  kCwd,
  kLookPath,
  kExecFifo,
  kExec,
  kFork,
  kJoinCgroup,
  kCreateContainerHook,
  kStartContainerHook,
};

// What the child writes on the sync socket. kind 1 = error, 2 = ready (waiting for start),
// 3 = pid of an exec'd grandchild.
struct ChildMessage {
  int32_t kind = 0;
  Step step = Step::kNone;
  int32_t err = 0;    // positive errno
  int32_t index = 0;  // which mount / device / path / candidate / hook
  int32_t status = 0;  // hooks: wait status of a hook that ran; -1 = killed at its timeout
};
inline constexpr int32_t kMsgError = 1;
inline constexpr int32_t kMsgReady = 2;
inline constexpr int32_t kMsgPid = 3;
// First byte on the exec fifo when the init failed after `start` opened it (a ChildMessage
// follows); "0" otherwise.
inline constexpr char kFifoError = 'E';

// Fills m with the error of `step` (errno negative or positive) and returns -1, the child
// code's failure value. Async-signal-safe: the child runs between clone and exec.
inline int FailChild(ChildMessage* m, Step step, int neg_errno, int index = 0) {
  m->kind = kMsgError;
  m->step = step;
  m->err = neg_errno < 0 ? -neg_errno : neg_errno;
  m->index = index;
  return -1;
}

struct MountOp {
  std::string destination;  // as in config.json, for messages
  std::string source, target, fstype, data;
  unsigned long flags = 0;        // flags of the first mount(2)
  unsigned long propagation = 0;  // MS_SHARED/MS_SLAVE/... applied afterwards
  bool bind = false;
  bool remount = false;       // a bind mount with flags needs a second MS_REMOUNT call
  bool file_target = false;   // bind of a file: the mount point is a file
  bool sysfs_fallback = false;  // sysfs EPERM (no netns): rbind the host /sys instead
};

struct DeviceOp {
  std::string target;  // path under the rootfs
  std::string parent;  // its directory, created first (/dev/cpu/0 for /dev/cpu/0/cpuid)
  std::string host_path;  // bind from here instead of mknod (user namespaces)
  mode_t mode = 0;        // S_IFCHR | perms
  dev_t dev = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  bool bind = false;
};

// OCI hooks the init itself runs (createContainer, startContainer): in the container's
// namespaces, with the state JSON on stdin. The parent prepares every byte; the child only
// inserts its own pid (as the container sees it) between state_prefix and state_suffix.
struct HookOp {
  std::string path;
  std::vector<std::string> args, env;
  std::vector<char*> argv, envp;  // NULL-terminated views, set by HookPlan::Finalize
  int timeout_sec = 0;            // 0: no limit
};

struct HookPlan {
  std::vector<HookOp> hooks;
  std::string state_prefix, state_suffix;  // state JSON = prefix + pid + suffix
  // Points every hook's argv/envp at its strings. Call once the plan stays where it is.
  void Finalize();
};

struct RootfsPlan {
  std::string rootfs;  // absolute
  unsigned long root_propagation = 0;
  bool pivot = true;
  std::vector<MountOp> mounts;
  std::vector<DeviceOp> devices;
  std::vector<std::pair<std::string, std::string>> symlinks;  // (target, link path under rootfs)
  std::vector<std::string> masked, readonly;                   // container paths, after pivot
  bool readonly_root = false;
  std::string cwd_target;  // process cwd under the rootfs, created before pivot_root
  bool set_hostname = false, set_domainname = false;
  std::string hostname, domainname;
  std::vector<std::pair<std::string, std::string>> sysctls;  // (/proc/sys/... path, value)
  HookPlan create_container;  // after the mounts, before pivot_root
};

struct ProcessPlan {
  std::vector<std::string> args, env;
  std::vector<std::string> exec_candidates;  // resolved argv[0] over $PATH, in order
  std::vector<char*> argv, envp;             // NULL-terminated views into args/env
  std::string cwd;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
  bool set_umask = false;
  mode_t umask = 022;
  bool set_caps = false;
  uint64_t bounding = 0, effective = 0, permitted = 0, inheritable = 0, ambient = 0;
  int last_cap = 40;
  std::vector<std::pair<int, std::pair<uint64_t, uint64_t>>> rlimits;
  bool no_new_privs = false;
  std::string oom_score_adj;  // empty: leave alone
  std::vector<sock_filter> seccomp;
  unsigned int seccomp_flags = 0;
  bool terminal = false;
  int console_socket = -1;
  uint16_t rows = 0, cols = 0;
  bool setsid = true;
  bool bind_console = true;  // init only: the pty also becomes /dev/console (not for exec)
  HookPlan start_container;  // init only: after `start` opened the exec fifo, before execve

  // Points argv/envp at args/env. Call after the last change to args/env.
  void Finalize();
};

// Namespace setup of the container's init (after clone, before the rootfs).
struct NamespacePlan {
  int sync_fd = -1;       // socket to the parent
  std::vector<std::pair<int, int>> join;  // (fd, CLONE_NEW*) to setns, in order
  bool become_root = false;  // a new user namespace: setresuid/gid(0) after the maps
  bool unshare_cgroup = false;
  int exec_fifo = -1;     // O_PATH fd of the exec fifo; -1 for `run`
  bool wait_parent_before_exec = false;  // `run`: ready, then one byte on sync_fd
  char exec_fifo_proc[40] = {0};  // "/proc/self/fd/N"
};

// The setup sequences run in the child. Each returns 0, or -1 with *err filled in.
int RunNamespaceSetup(const NamespacePlan& plan, Kernel& k, ChildMessage* err);
int RunRootfsSetup(const RootfsPlan& plan, Kernel& k, ChildMessage* err);
// Everything from the console to the capabilities, then waits on the exec fifo (if any).
int RunProcessSetup(const ProcessPlan& plan, const NamespacePlan* ns, Kernel& k,
                    ChildMessage* err);
// Looks up the executable and calls execve; only returns on failure.
int RunExec(const ProcessPlan& plan, Kernel& k, ChildMessage* err);

// Runs the plan's hooks in order (no allocation). 0, or -1 with *err = {step, errno or 0,
// hook index, wait status}.
int RunHookPlan(const HookPlan& plan, Step step, Kernel& k, ChildMessage* err);

// mkdir -p without allocation (a PATH_MAX stack buffer). 0 or -errno.
int MkdirAllNoAlloc(Kernel& k, const char* path, mode_t mode);

// Parent side: the Status for a child's error message, naming the step and the object.
absl::Status ChildErrorToStatus(const ChildMessage& msg, const RootfsPlan* rootfs,
                                const ProcessPlan* process);

}  // namespace berth::executor
