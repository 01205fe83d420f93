// Exec: a new process in a running container. The parent opens the init's namespace files and
// the cgroup.procs files; an intermediate child joins the cgroup and the namespaces, then
// clones the process with CLONE_PARENT (a joined pid namespace only applies to children), so
// the process is our child and the intermediate can exit at once.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "executor/builder.h"
#include "executor/executor.h"
#include "executor/internal.h"

namespace berth::executor {
namespace {

struct ExecArgs {
  int sync_fd = -1;
  int stdio[3] = {-1, -1, -1};
  std::vector<std::pair<int, bool>> cgroup_fds;  // (fd, required)
  NamespacePlan ns;
  const ProcessPlan* process = nullptr;
  Kernel* kernel = nullptr;
};

void SendMsg(int fd, const ChildMessage& m) { send(fd, &m, sizeof(m), MSG_NOSIGNAL); }

[[noreturn]] void ExecIntermediate(const ExecArgs& a) {
  ResetSignalsInChild();
  ChildMessage msg;
  for (const auto& [fd, required] : a.cgroup_fds) {
    if (write(fd, "0", 1) != 1 && required) {
      msg.kind = kMsgError;
      msg.step = Step::kJoinCgroup;
      msg.err = errno;
      SendMsg(a.sync_fd, msg);
      _exit(1);
    }
  }
  if (RunNamespaceSetup(a.ns, *a.kernel, &msg) != 0) {
    SendMsg(a.sync_fd, msg);
    _exit(1);
  }
  pid_t pid = static_cast<pid_t>(
      syscall(SYS_clone, static_cast<unsigned long>(CLONE_PARENT), nullptr, nullptr, nullptr,
              nullptr));
  if (pid == 0) {
    for (int i = 0; i < 3; ++i) {
      if (a.stdio[i] >= 0) dup2(a.stdio[i], i);
    }
    MarkCloexecFrom(3);  // an in-process caller (the shim) may hold fds without O_CLOEXEC
    if (RunProcessSetup(*a.process, nullptr, *a.kernel, &msg) == 0) {
      RunExec(*a.process, *a.kernel, &msg);
    }
    SendMsg(a.sync_fd, msg);
    _exit(1);
  }
  msg.kind = pid < 0 ? kMsgError : kMsgPid;
  msg.step = Step::kFork;
  msg.err = pid < 0 ? errno : 0;
  msg.index = pid;
  SendMsg(a.sync_fd, msg);
  _exit(pid < 0 ? 1 : 0);
}

ino_t NsInode(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

}  // namespace

absl::StatusOr<int> Executor::Exec(const std::string& id, const ExecOptions& opts) {
  BERTH_ASSIGN_OR_RETURN(StoredState s, store_.Load(id));
  BERTH_ASSIGN_OR_RETURN(ContainerState cs, StateOf(s));
  if (cs.status != "running" && cs.status != "created") {
    return absl::FailedPreconditionError("cannot exec in a " + cs.status + " container");
  }
  auto args = std::make_unique<ExecArgs>();
  std::vector<int> fds;
  absl::Cleanup close_fds = [&] {
    for (int fd : fds) close(fd);
  };
  // Join every namespace in which the init differs from us; the user namespace first.
  for (int flag : {CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID,
                   CLONE_NEWCGROUP, CLONE_NEWNS}) {
    std::string name = NamespaceProcName(flag);
    std::string theirs = absl::StrCat("/proc/", s.pid, "/ns/", name);
    if (NsInode(theirs) == NsInode("/proc/self/ns/" + name)) continue;
    int fd = open(theirs.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open " + theirs);
    fds.push_back(fd);
    args->ns.join.push_back({fd, flag});
    if (flag == CLONE_NEWUSER) args->ns.become_root = false;
  }
  for (const auto& file : LoadCgroupManager(s.cgroup_paths)->ProcsFiles()) {
    int fd = open(file.c_str(), O_WRONLY | O_CLOEXEC);
    bool required = !absl::StrContains(file, "/unified/");
    if (fd < 0) {
      if (required) return ErrnoStatus("open " + file);
      continue;
    }
    fds.push_back(fd);
    args->cgroup_fds.push_back({fd, required});
  }
  const Seccomp* seccomp = nullptr;
  Spec spec;
  if (auto loaded = LoadSpec(s.bundle); loaded.ok()) {
    spec = *std::move(loaded);
    if (spec.linux.seccomp) seccomp = &*spec.linux.seccomp;
  }
  Process process = opts.process;
  // The rootfs as the init sees it: it may be mounted in the container's namespace only
  // (rootfs_mount.h).
  AddDefaultHome(absl::StrCat("/proc/", s.pid, "/root"), process.user.uid, process.env);
  BERTH_ASSIGN_OR_RETURN(ProcessPlan plan, BuildProcessPlan(process, seccomp));
  plan.setsid = false;
  plan.bind_console = false;
  if (plan.terminal && opts.console_socket_fd >= 0) {
    plan.console_socket = opts.console_socket_fd;
  } else if (plan.terminal) {
    if (opts.console_socket.empty()) {
      return absl::InvalidArgumentError("process.terminal needs --console-socket");
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, opts.console_socket.c_str(), sizeof(addr.sun_path) - 1);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      if (fd >= 0) close(fd);
      return ErrnoStatus("connect console socket " + opts.console_socket);
    }
    fds.push_back(fd);
    plan.console_socket = fd;
  }
  plan.Finalize();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return ErrnoStatus("socketpair");
  absl::Cleanup close_sync = [&] { close(sv[0]); };
  args->sync_fd = sv[1];
  args->stdio[0] = opts.stdin_fd;
  args->stdio[1] = opts.stdout_fd;
  args->stdio[2] = opts.stderr_fd;
  args->process = &plan;
  args->kernel = &RealKernel();
  pid_t mid = static_cast<pid_t>(syscall(SYS_clone, static_cast<unsigned long>(SIGCHLD), nullptr,
                                         nullptr, nullptr, nullptr));
  if (mid == 0) ExecIntermediate(*args);
  int clone_errno = errno;
  close(sv[1]);
  if (mid < 0) return ErrnoStatus(clone_errno, "clone exec process");
  while (waitpid(mid, nullptr, 0) < 0 && errno == EINTR) {
  }
  ChildMessage msg;
  ssize_t n;
  do {
    n = read(sv[0], &msg, sizeof(msg));
  } while (n < 0 && errno == EINTR);
  if (n != sizeof(msg)) return absl::InternalError("exec: setup process died");
  if (msg.kind != kMsgPid) return ChildErrorToStatus(msg, nullptr, &plan);
  pid_t pid = msg.index;
  absl::Status exec_status = ReadChildExec(sv[0], &plan);
  if (!exec_status.ok()) {
    waitpid(pid, nullptr, 0);
    return exec_status;
  }
  if (!opts.pid_file.empty()) {
    BERTH_RETURN_IF_ERROR(fs::WriteFileReplace(AbsolutePath(opts.pid_file), std::to_string(pid)));
  }
  if (opts.detach) return pid;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

}  // namespace berth::executor
