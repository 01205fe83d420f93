// The child side of process setup (init and exec): console, rlimits, seccomp, identity,
// capabilities, cwd, the wait for `start`, execve. No allocation: see plan.h.
#include <fcntl.h>
#include <linux/prctl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "executor/plan.h"

namespace berth::executor {
namespace {

// "/dev/pts/" + n into buf, without snprintf (which may allocate for some formats).
void PtsPath(char* buf, unsigned n) {
  const char prefix[] = "/dev/pts/";
  memcpy(buf, prefix, sizeof(prefix));
  char digits[12];
  int len = 0;
  do {
    digits[len++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n > 0);
  char* p = buf + sizeof(prefix) - 1;
  while (len > 0) *p++ = digits[--len];
  *p = '\0';
}

// A pty from the container's own /dev/ptmx; the master goes to the console socket, the slave
// becomes stdio and the controlling terminal (runc's setupConsole).
int SetupConsole(const ProcessPlan& plan, Kernel& k, ChildMessage* err) {
  int master = k.Open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return FailChild(err, Step::kConsole, master);
  int unlock = 0;
  int r = k.Ioctl(master, TIOCSPTLCK, &unlock);
  unsigned int n = 0;
  if (r == 0) r = k.Ioctl(master, TIOCGPTN, &n);
  if (r < 0) return FailChild(err, Step::kConsole, r);
  char path[32];
  PtsPath(path, n);
  int slave = k.Open(path, O_RDWR | O_NOCTTY);
  if (slave < 0) return FailChild(err, Step::kConsole, slave);
  if (plan.rows != 0 || plan.cols != 0) {
    struct winsize ws;
    memset(&ws, 0, sizeof(ws));
    ws.ws_row = plan.rows;
    ws.ws_col = plan.cols;
    k.Ioctl(master, TIOCSWINSZ, &ws);
  }
  // /dev/console in the container is the pty (best effort: the file may be missing).
  if (plan.bind_console &&
      (k.CreateFile("/dev/console") == 0 || k.IsDir("/dev/console") == 0)) {
    k.Mount(path, "/dev/console", nullptr, MS_BIND, nullptr);
  }
  if ((r = k.SendFd(plan.console_socket, path, master)) < 0) {
    return FailChild(err, Step::kConsole, r);
  }
  k.Close(master);
  k.Close(plan.console_socket);
  k.Setsid();
  if ((r = k.Ioctl(slave, TIOCSCTTY, nullptr)) < 0) return FailChild(err, Step::kConsole, r);
  for (int fd = 0; fd < 3; ++fd) {
    if ((r = k.Dup2(slave, fd)) < 0) return FailChild(err, Step::kConsole, r);
  }
  if (slave > 2) k.Close(slave);
  return 0;
}

int LoadSeccomp(const ProcessPlan& plan, Kernel& k, ChildMessage* err) {
  if (plan.seccomp.empty()) return 0;
  sock_fprog prog;
  prog.len = static_cast<unsigned short>(plan.seccomp.size());
  prog.filter = const_cast<sock_filter*>(plan.seccomp.data());
  int r = k.SeccompLoad(&prog, plan.seccomp_flags);
  return r < 0 ? FailChild(err, Step::kSeccomp, r) : 0;
}

int SetIdentity(const ProcessPlan& plan, Kernel& k, ChildMessage* err) {
  int r;
  if (plan.set_caps) {
    // Keep the permitted set across setuid(non-zero), then trim it with capset.
    k.Prctl(PR_SET_KEEPCAPS, 1, 0, 0);
    for (int cap = 0; cap <= plan.last_cap; ++cap) {
      if ((plan.bounding >> cap) & 1) continue;
      r = k.Prctl(PR_CAPBSET_DROP, static_cast<unsigned long>(cap), 0, 0);
      if (r < 0 && r != -EINVAL) return FailChild(err, Step::kCapBounding, r, cap);
    }
  }
  r = k.Setgroups(plan.additional_gids.size(), plan.additional_gids.data());
  // EPERM: setgroups is denied in this user namespace; runc tolerates it when empty.
  if (r < 0 && !(r == -EPERM && plan.additional_gids.empty())) {
    return FailChild(err, Step::kSetgroups, r);
  }
  if ((r = k.Setresgid(plan.gid)) < 0) return FailChild(err, Step::kSetgid, r);
  if ((r = k.Setresuid(plan.uid)) < 0) return FailChild(err, Step::kSetuid, r);
  if (plan.set_caps) {
    r = k.Capset(plan.effective, plan.permitted, plan.inheritable);
    if (r < 0) return FailChild(err, Step::kCapset, r);
    for (int cap = 0; cap <= plan.last_cap; ++cap) {
      if (((plan.ambient >> cap) & 1) == 0) continue;
      // Like runc: a cap missing from permitted/inheritable cannot be ambient; not fatal.
      k.Prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, static_cast<unsigned long>(cap), 0);
    }
    k.Prctl(PR_SET_KEEPCAPS, 0, 0, 0);
  }
  return 0;
}

}  // namespace

int RunProcessSetup(const ProcessPlan& plan, const NamespacePlan* ns, Kernel& k,
                    ChildMessage* err) {
  int r;
  if (plan.terminal && plan.console_socket >= 0) {
    if (SetupConsole(plan, k, err) < 0) return -1;
  } else if (plan.setsid) {
    k.Setsid();
  }
  for (size_t i = 0; i < plan.rlimits.size(); ++i) {
    const auto& [res, lim] = plan.rlimits[i];
    if ((r = k.Setrlimit(res, lim.first, lim.second)) < 0) {
      return FailChild(err, Step::kRlimit, r, static_cast<int>(i));
    }
  }
  if (!plan.oom_score_adj.empty()) {
    r = k.WriteFile("/proc/self/oom_score_adj", plan.oom_score_adj.c_str(),
                    plan.oom_score_adj.size());
    // Without CAP_SYS_RESOURCE the score cannot go below ours: keep ours (containerd's
    // restrict_oom_score_adj does the same).
    if (r < 0 && r != -EACCES && r != -EPERM) return FailChild(err, Step::kOomScoreAdj, r);
  }
  if (plan.no_new_privs && (r = k.Prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0)) < 0) {
    return FailChild(err, Step::kNoNewPrivs, r);
  }
  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load before dropping it.
  if (!plan.no_new_privs && LoadSeccomp(plan, k, err) < 0) return -1;
  if (SetIdentity(plan, k, err) < 0) return -1;
  if (plan.set_umask) k.Umask(plan.umask);
  if ((r = k.Chdir(plan.cwd.c_str())) < 0) return FailChild(err, Step::kCwd, r);
  // The executable must exist before `create` returns, so `ctr run` of a missing binary fails.
  bool found = false;
  for (size_t i = 0; i < plan.exec_candidates.size() && !found; ++i) {
    found = k.Access(plan.exec_candidates[i].c_str(), X_OK) == 0;
  }
  if (!found) return FailChild(err, Step::kLookPath, -ENOENT);
  if (plan.no_new_privs && LoadSeccomp(plan, k, err) < 0) return -1;
  if (ns != nullptr && ns->exec_fifo >= 0) {
    ChildMessage ready;
    ready.kind = kMsgReady;
    k.Write(ns->sync_fd, &ready, sizeof(ready));
    // Blocks until `start` opens the fifo for reading.
    int fd = k.Open(ns->exec_fifo_proc, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return FailChild(err, Step::kExecFifo, fd);
    // OCI startContainer: part of `start`, before the user process. `start` reads the fifo,
    // so a failure goes there: 'E' and the message instead of "0" (kFifoError).
    if (RunHookPlan(plan.start_container, Step::kStartContainerHook, k, err) < 0) {
      char buf[1 + sizeof(ChildMessage)];
      buf[0] = kFifoError;
      memcpy(buf + 1, err, sizeof(ChildMessage));
      k.Write(fd, buf, sizeof(buf));
      return -1;
    }
    if ((r = k.Write(fd, "0", 1)) < 0) return FailChild(err, Step::kExecFifo, r);
    k.Close(fd);
    k.Close(ns->exec_fifo);
  } else if (ns != nullptr && ns->wait_parent_before_exec) {
    ChildMessage ready;
    ready.kind = kMsgReady;
    k.Write(ns->sync_fd, &ready, sizeof(ready));
    char go;
    if ((r = k.Read(ns->sync_fd, &go, 1)) != 1) return FailChild(err, Step::kWaitParent, r < 0 ? r : -EPIPE);
    if (RunHookPlan(plan.start_container, Step::kStartContainerHook, k, err) < 0) return -1;
  }
  return 0;
}

int RunExec(const ProcessPlan& plan, Kernel& k, ChildMessage* err) {
  int last = -ENOENT;
  for (size_t i = 0; i < plan.exec_candidates.size(); ++i) {
    last = k.Execve(plan.exec_candidates[i].c_str(), plan.argv.data(), plan.envp.data());
    if (last != -ENOENT && last != -ENOTDIR) break;
  }
  return FailChild(err, Step::kExec, last);
}

void ProcessPlan::Finalize() {
  argv.clear();
  envp.clear();
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
}

}  // namespace berth::executor
