// Create / Start / Run: the parent prepares every plan, clones the init with its new
// namespaces, joins it to the cgroup, writes id maps, then lets it run its setup and reads
// back either "ready" or the failing step.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "executor/background_netns.h"
#include "executor/builder.h"
#include "executor/executor.h"
#include "executor/hooks.h"
#include "executor/internal.h"
#include "executor/rootfs_mount.h"

namespace berth::executor {
namespace {

struct InitArgs {
  int sync_fd = -1;
  int stdio[3] = {-1, -1, -1};
  int keep_fds = 3;
  const NamespacePlan* ns = nullptr;
  const RootfsPlan* rootfs = nullptr;
  const ProcessPlan* process = nullptr;
  Kernel* kernel = nullptr;
};

// The container's init between clone() and execve(): system calls only.
[[noreturn]] void InitChild(const InitArgs& a) {
  ResetSignalsInChild();
  ChildMessage msg;
  char go = 0;
  if (a.kernel->Read(a.sync_fd, &go, 1) != 1) _exit(1);
  for (int i = 0; i < 3; ++i) {
    if (a.stdio[i] >= 0) dup2(a.stdio[i], i);
  }
  MarkCloexecFrom(a.keep_fds);
  if (RunNamespaceSetup(*a.ns, *a.kernel, &msg) == 0 &&
      RunRootfsSetup(*a.rootfs, *a.kernel, &msg) == 0 &&
      RunProcessSetup(*a.process, a.ns, *a.kernel, &msg) == 0) {
    RunExec(*a.process, *a.kernel, &msg);
  }
  send(a.sync_fd, &msg, sizeof(msg), MSG_NOSIGNAL);
  _exit(1);
}

std::string IdMapText(const std::vector<IdMapping>& maps) {
  std::string out;
  for (const auto& m : maps) absl::StrAppend(&out, m.container_id, " ", m.host_id, " ", m.size, "\n");
  return out;
}

uint32_t HostIdOfRoot(const std::vector<IdMapping>& maps) {
  for (const auto& m : maps) {
    if (m.container_id == 0) return m.host_id;
  }
  return 0;
}

// Default device rules so the default devices work under a deny-all spec (as runc adds them).
void AddDefaultDeviceRules(const Spec& spec, Resources& r) {
  // Devices the spec asks us to create are usable too (runc allows them the same way).
  for (const auto& d : spec.linux.devices) {
    std::string type(1, d.type == 'u' ? 'c' : d.type);
    r.devices.push_back({true, type, d.major, d.minor, "rwm"});
  }
  const std::pair<int, int> kDevs[] = {{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9},
                                       {5, 0}, {5, 1}, {5, 2}};
  for (auto [major, minor] : kDevs) r.devices.push_back({true, "c", major, minor, "rwm"});
  r.devices.push_back({true, "c", 136, std::nullopt, "rwm"});
}

struct Prepared {
  Spec spec;
  RootfsPlan rootfs;
  ProcessPlan process;
  NamespacePlan ns;
  int clone_flags = 0;
  int pid_ns_fd = -1;  // join this pid namespace before clone
  std::vector<int> fds;  // to close in the parent once the child runs
};

absl::Status PrepareNamespaces(const Spec& spec, Prepared& p) {
  bool has_mount = false;
  for (const auto& ns : spec.linux.namespaces) {
    int flag = NamespaceFlag(ns.type);
    if (flag == 0) return absl::InvalidArgumentError("unknown namespace type " + ns.type);
    if (flag == CLONE_NEWNS) has_mount = true;
    if (ns.path.empty()) {
      if (flag == CLONE_NEWCGROUP) {
        p.ns.unshare_cgroup = true;  // after joining the cgroup, so it becomes the ns root
      } else {
        p.clone_flags |= flag;
      }
      continue;
    }
    int fd = open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(absl::StrCat("open ", ns.type, " namespace ", ns.path));
    p.fds.push_back(fd);
    if (flag == CLONE_NEWPID) {
      p.pid_ns_fd = fd;
    } else if (flag == CLONE_NEWUSER) {
      p.ns.join.insert(p.ns.join.begin(), {fd, flag});  // the user namespace comes first
    } else {
      p.ns.join.push_back({fd, flag});
    }
  }
  if (!has_mount) return absl::InvalidArgumentError("a mount namespace is required");
  p.ns.become_root = (p.clone_flags & CLONE_NEWUSER) != 0;
  return absl::OkStatus();
}

absl::StatusOr<int> ConnectConsole(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket");
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    close(fd);
    return absl::InvalidArgumentError("console socket path too long: " + path);
  }
  memcpy(addr.sun_path, path.c_str(), path.size());
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    close(fd);
    return ErrnoStatus(err, "connect console socket " + path);
  }
  return fd;
}

pid_t CloneInit(const Prepared& p, const InitArgs& args) {
  int self_pid_ns = -1;
  if (p.pid_ns_fd >= 0) {
    self_pid_ns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (setns(p.pid_ns_fd, CLONE_NEWPID) != 0) {
      close(self_pid_ns);
      return -1;
    }
  }
  // fork()-like clone: the child runs on a copy of our stack.
  pid_t pid = static_cast<pid_t>(
      syscall(SYS_clone, static_cast<unsigned long>(p.clone_flags | SIGCHLD), nullptr, nullptr,
              nullptr, nullptr));
  if (pid == 0) InitChild(args);
  int err = errno;
  if (self_pid_ns >= 0) {
    setns(self_pid_ns, CLONE_NEWPID);
    close(self_pid_ns);
  }
  errno = err;
  return pid;
}

}  // namespace

absl::StatusOr<pid_t> Executor::CreateInternal(const std::string& id, const CreateOptions& opts,
                                               bool with_fifo, bool detached_run) {
  BERTH_RETURN_IF_ERROR(store_.Reserve(id));
  bool keep = false;
  absl::Cleanup unreserve = [&] {
    if (!keep) (void)store_.Remove(id);
  };
  std::string bundle = AbsolutePath(opts.bundle.empty() ? "." : opts.bundle);
  auto prepared = std::make_unique<Prepared>();
  Prepared& p = *prepared;
  absl::Cleanup close_fds = [&] {
    for (int fd : p.fds) close(fd);
  };
  BERTH_ASSIGN_OR_RETURN(p.spec, LoadSpec(bundle));
  if (!p.spec.process) return absl::InvalidArgumentError("config.json has no process");
  BERTH_RETURN_IF_ERROR(PrepareNamespaces(p.spec, p));
  // Made by a helper process while the cgroup and the plans are (background_netns.h). With a new
  // user namespace the network namespace must be made inside it: then the clone makes it.
  std::optional<BackgroundNetns> netns;
  if ((p.clone_flags & CLONE_NEWNET) && !(p.clone_flags & CLONE_NEWUSER)) netns.emplace();

  bool created = false;
  // A rootfs mounted in the caller's namespace stays for the caller to unmount after Delete.
  bool host_rootfs_mount = false;
  absl::Cleanup unmount_rootfs = [&] {
    if (host_rootfs_mount && !created) (void)mount::UnmountAll(bundle + "/rootfs");
  };
  if (!opts.rootfs_mounts.empty()) {
    bool private_rootfs = opts.private_rootfs && RootfsMayBePrivate(p.spec);
    if (private_rootfs) BERTH_RETURN_IF_ERROR(LeaveHostMountNamespace());
    BERTH_RETURN_IF_ERROR(MountBundleRootfs(opts.rootfs_mounts, bundle));
    host_rootfs_mount = !private_rootfs;
  }

  // Cgroup first: the rootfs plan bind-mounts its directories for a "cgroup" mount.
  BERTH_ASSIGN_OR_RETURN(CgroupLayout layout, DetectCgroupLayout());
  auto cgroup = NewCgroupManager(layout, p.spec.linux.cgroups_path, id);
  BERTH_RETURN_IF_ERROR(Annotate(cgroup->Create(), "create cgroup"));
  pid_t pid = -1;
  absl::Cleanup undo = [&] {
    if (created) return;
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    (void)cgroup->Destroy();
  };
  Resources resources = p.spec.linux.resources.value_or(Resources{});
  AddDefaultDeviceRules(p.spec, resources);

  RootfsOptions ro;
  ro.bundle = bundle;
  ro.no_pivot = opts.no_pivot;
  ro.userns = p.spec.linux.HasNamespace("user");
  ro.root_uid = HostIdOfRoot(p.spec.linux.uid_mappings);
  ro.root_gid = HostIdOfRoot(p.spec.linux.gid_mappings);
  ro.cgroups = cgroup->MountInfo(p.ns.unshare_cgroup);
  BERTH_ASSIGN_OR_RETURN(p.rootfs, BuildRootfsPlan(p.spec, ro));
  const Seccomp* seccomp = p.spec.linux.seccomp ? &*p.spec.linux.seccomp : nullptr;
  AddDefaultHome(p.rootfs.rootfs, p.spec.process->user.uid, p.spec.process->env);
  BERTH_ASSIGN_OR_RETURN(p.process, BuildProcessPlan(*p.spec.process, seccomp));
  if (p.process.terminal && opts.console_socket_fd >= 0) {
    p.process.console_socket = opts.console_socket_fd;
  } else if (p.process.terminal) {
    if (opts.console_socket.empty()) {
      return absl::InvalidArgumentError("process.terminal needs --console-socket");
    }
    BERTH_ASSIGN_OR_RETURN(p.process.console_socket, ConnectConsole(opts.console_socket));
    p.fds.push_back(p.process.console_socket);
  }
  if (with_fifo) {
    std::string fifo = store_.FifoPath(id);
    if (mkfifo(fifo.c_str(), 0622) != 0) return ErrnoStatus("mkfifo " + fifo);
    chown(fifo.c_str(), ro.root_uid, ro.root_gid);
    p.ns.exec_fifo = open(fifo.c_str(), O_PATH | O_CLOEXEC);
    if (p.ns.exec_fifo < 0) return ErrnoStatus("open " + fifo);
    p.fds.push_back(p.ns.exec_fifo);
    std::string proc = absl::StrCat("/proc/self/fd/", p.ns.exec_fifo);
    memcpy(p.ns.exec_fifo_proc, proc.c_str(), proc.size() + 1);
  } else {
    p.ns.wait_parent_before_exec = true;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return ErrnoStatus("socketpair");
  absl::Cleanup close_sync = [&] { close(sv[0]); };
  p.ns.sync_fd = sv[1];
  p.process.Finalize();
  // createContainer/startContainer hooks run in the init (container namespaces); their state
  // JSON is rendered here, the init adds its pid.
  std::string created_at = NowRfc3339Nano();
  ContainerState hook_state;
  hook_state.id = id;
  hook_state.bundle = bundle;
  hook_state.rootfs = p.rootfs.rootfs;
  hook_state.created = created_at;
  hook_state.annotations = p.spec.annotations;
  hook_state.status = "creating";
  p.rootfs.create_container = BuildHookPlan(p.spec.hooks.create_container, hook_state);
  hook_state.status = "created";
  p.process.start_container = BuildHookPlan(p.spec.hooks.start_container, hook_state);
  p.rootfs.create_container.Finalize();
  p.process.start_container.Finalize();
  InitArgs args;
  args.sync_fd = sv[1];
  args.stdio[0] = opts.stdin_fd;
  args.stdio[1] = opts.stdout_fd;
  args.stdio[2] = opts.stderr_fd;
  args.keep_fds = 3 + opts.preserve_fds;
  args.ns = &p.ns;
  args.rootfs = &p.rootfs;
  args.process = &p.process;
  args.kernel = &RealKernel();

  if (netns) {
    if (absl::StatusOr<int> fd = netns->Take(); fd.ok()) {
      p.fds.push_back(*fd);
      p.ns.join.push_back({*fd, CLONE_NEWNET});
      p.clone_flags &= ~CLONE_NEWNET;
    }  // else the clone makes it, as without the helper
  }
  pid = CloneInit(p, args);
  int clone_errno = errno;
  close(sv[1]);
  if (pid < 0) return ErrnoStatus(clone_errno, "clone container init");
  if (p.clone_flags & CLONE_NEWUSER) {
    BERTH_RETURN_IF_ERROR(WriteProcFile(pid, "uid_map", IdMapText(p.spec.linux.uid_mappings)));
    BERTH_RETURN_IF_ERROR(WriteProcFile(pid, "gid_map", IdMapText(p.spec.linux.gid_mappings)));
  }
  // Configuring the cgroup (device rules, limits) and moving a task into it take a while (each
  // v1 cgroup.procs write may wait for an RCU grace period), so the init sets up its rootfs
  // meanwhile; it cannot exec before we read "ready". The limits are set before the move: the
  // init's mknods of its devices run outside the device rules until then, as they did before.
  // A cgroup namespace must be unshared after the move: then all of it comes first.
  auto join_cgroup = [&]() -> absl::Status {
    BERTH_RETURN_IF_ERROR(Annotate(cgroup->Set(resources), "set cgroup resources"));
    return cgroup->Apply(pid);
  };
  bool join_first = p.ns.unshare_cgroup;
  if (join_first) BERTH_RETURN_IF_ERROR(join_cgroup());
  if (write(sv[0], "1", 1) != 1) return ErrnoStatus("signal container init");
  if (!join_first) BERTH_RETURN_IF_ERROR(join_cgroup());
  BERTH_RETURN_IF_ERROR(ReadChildReady(sv[0], &p.rootfs, &p.process));

  StoredState state;
  state.id = id;
  state.bundle = bundle;
  state.rootfs = p.rootfs.rootfs;
  state.created = created_at;
  state.pid = pid;
  state.start_time = ProcessStartTime(pid);
  state.annotations = p.spec.annotations;
  state.cgroup_paths = cgroup->Paths();
  state.detached_run = detached_run;
  state.poststop_hooks = !p.spec.hooks.poststop.empty();
  BERTH_RETURN_IF_ERROR(store_.Save(state));
  if (!opts.pid_file.empty()) {
    BERTH_RETURN_IF_ERROR(fs::WriteFileReplace(AbsolutePath(opts.pid_file), std::to_string(pid)));
  }
  BERTH_ASSIGN_OR_RETURN(ContainerState cs, StateOf(state));
  std::string state_json = StateToJson(cs, false);
  BERTH_RETURN_IF_ERROR(RunHooks(p.spec.hooks.prestart, state_json, "prestart"));
  BERTH_RETURN_IF_ERROR(RunHooks(p.spec.hooks.create_runtime, state_json, "createRuntime"));
  if (!with_fifo) {
    if (write(sv[0], "1", 1) != 1) return ErrnoStatus("start container init");
    BERTH_RETURN_IF_ERROR(ReadChildExec(sv[0], &p.process));
    (void)RunHooks(p.spec.hooks.poststart, state_json, "poststart");
  }
  created = true;
  keep = true;
  return pid;
}

absl::StatusOr<pid_t> Executor::Create(const std::string& id, const CreateOptions& opts) {
  return CreateInternal(id, opts, /*with_fifo=*/true, /*detached_run=*/false);
}

absl::StatusOr<int> Executor::Run(const std::string& id, const CreateOptions& opts, bool detach) {
  BERTH_ASSIGN_OR_RETURN(pid_t pid, CreateInternal(id, opts, /*with_fifo=*/false, detach));
  if (detach) return 0;
  // Forward the usual termination signals to the container, like runc run does. SIGCHLD is
  // in the set so the wait wakes up as soon as the process exits.
  sigset_t set, old;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD}) {
    sigaddset(&set, sig);
  }
  sigprocmask(SIG_BLOCK, &set, &old);
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) break;
    struct timespec timeout = {1, 0};
    int sig = sigtimedwait(&set, nullptr, &timeout);
    if (sig > 0 && sig != SIGCHLD) kill(pid, sig);
  }
  sigprocmask(SIG_SETMASK, &old, nullptr);
  (void)Delete(id, /*force=*/true);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace berth::executor
