// Parent side: a child's {step, errno, index} becomes a Status naming what failed.
#include <sys/wait.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "executor/plan.h"

namespace berth::executor {
namespace {

template <typename T>
const T* At(const std::vector<T>* v, int32_t i) {
  return v != nullptr && i >= 0 && static_cast<size_t>(i) < v->size() ? &(*v)[i] : nullptr;
}

std::string Describe(const ChildMessage& m, const RootfsPlan* r, const ProcessPlan* p) {
  auto mount = [&](const char* verb) {
    const MountOp* op = At(r ? &r->mounts : nullptr, m.index);
    return op ? absl::StrCat(verb, " ", op->destination, " (", op->fstype.empty() ? "bind" : op->fstype,
                             " from ", op->source, ")")
              : std::string(verb);
  };
  switch (m.step) {
    case Step::kWaitParent: return "wait for parent";
    case Step::kSetns: return "join namespace";
    case Step::kUnshareCgroup: return "unshare cgroup namespace";
    case Step::kBecomeRoot: return "become root in user namespace";
    case Step::kHostname: return "sethostname";
    case Step::kDomainname: return "setdomainname";
    case Step::kSysctl: {
      auto* s = At(r ? &r->sysctls : nullptr, m.index);
      return s ? "write sysctl " + s->first : "write sysctl";
    }
    case Step::kRootPropagation: return "set propagation of /";
    case Step::kBindRootfs: return "bind mount rootfs " + (r ? r->rootfs : "");
    case Step::kMkdirMountpoint: return mount("create mountpoint for");
    case Step::kMount: return mount("mount");
    case Step::kRemountMount: return mount("remount");
    case Step::kMountPropagation: return mount("set propagation of");
    case Step::kDevice: {
      auto* d = At(r ? &r->devices : nullptr, m.index);
      return d ? "create device " + d->host_path : "create device";
    }
    case Step::kSymlink: {
      auto* s = At(r ? &r->symlinks : nullptr, m.index);
      return s ? "symlink " + s->second : "symlink";
    }
    case Step::kPivotRoot: return "pivot_root " + (r ? r->rootfs : "");
    case Step::kMaskPath: {
      auto* s = At(r ? &r->masked : nullptr, m.index);
      return s ? "mask " + *s : "mask path";
    }
    case Step::kReadonlyPath: {
      auto* s = At(r ? &r->readonly : nullptr, m.index);
      return s ? "make read-only " + *s : "make path read-only";
    }
    case Step::kReadonlyRoot: return "remount rootfs read-only";
    case Step::kConsole: return "set up console";
    case Step::kRlimit: return "setrlimit";
    case Step::kOomScoreAdj: return "write oom_score_adj";
    case Step::kNoNewPrivs: return "set no_new_privs";
    case Step::kSeccomp: return "load seccomp filter";
    case Step::kCapBounding: return absl::StrCat("drop capability ", m.index, " from bounding set");
    case Step::kSetgroups: return "setgroups";
    case Step::kSetgid: return absl::StrCat("setgid ", p ? p->gid : 0);
    case Step::kSetuid: return absl::StrCat("setuid ", p ? p->uid : 0);
    case Step::kCapset: return "capset";
    case Step::kAmbient: return absl::StrCat("raise ambient capability ", m.index);
    case Step::kCwd: return "chdir to cwd " + (p ? p->cwd : "");
    case Step::kLookPath:
      return absl::StrCat("exec: \"", p && !p->args.empty() ? p->args[0] : "",
                          "\": executable file not found in $PATH");
    case Step::kExecFifo: return "wait for start (exec fifo)";
    case Step::kExec: return "exec " + (p && !p->args.empty() ? p->args[0] : "");
    case Step::kFork: return "fork exec process";
    case Step::kJoinCgroup: return "join cgroup";
    case Step::kCreateContainerHook:
    case Step::kStartContainerHook: break;  // see HookError
    case Step::kNone: break;
  }
  return "container setup";
}

// Same wording as the hooks the parent runs (hooks.cc).
absl::Status HookError(const ChildMessage& m, const RootfsPlan* r, const ProcessPlan* p) {
  bool create = m.step == Step::kCreateContainerHook;
  const HookPlan* plan = create ? (r ? &r->create_container : nullptr)
                                : (p ? &p->start_container : nullptr);
  const HookOp* h = At(plan ? &plan->hooks : nullptr, m.index);
  std::string what = absl::StrCat(create ? "createContainer" : "startContainer", " hook ",
                                  h ? h->path : absl::StrCat("#", m.index));
  if (m.status == -1) {
    return absl::DeadlineExceededError(
        absl::StrCat(what, ": timed out after ", h ? h->timeout_sec : 0, "s"));
  }
  if (m.err != 0) return ErrnoStatus(m.err, what);
  bool exited = WIFEXITED(m.status);
  return absl::InternalError(absl::StrCat(what, " failed: ", exited ? "exit status " : "signal ",
                                          exited ? WEXITSTATUS(m.status) : WTERMSIG(m.status)));
}

}  // namespace

absl::Status ChildErrorToStatus(const ChildMessage& msg, const RootfsPlan* rootfs,
                                const ProcessPlan* process) {
  if (msg.step == Step::kCreateContainerHook || msg.step == Step::kStartContainerHook) {
    return HookError(msg, rootfs, process);
  }
  std::string what = Describe(msg, rootfs, process);
  if (msg.step == Step::kLookPath) {
    return absl::NotFoundError("unable to start container process: " + what);
  }
  return Annotate(ErrnoStatus(msg.err, what), "unable to start container process");
}

}  // namespace berth::executor
