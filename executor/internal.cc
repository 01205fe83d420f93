#include "executor/internal.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace berth::executor {

int NamespaceFlag(absl::string_view type) {
  if (type == "pid") return CLONE_NEWPID;
  if (type == "network" || type == "net") return CLONE_NEWNET;
  if (type == "mount" || type == "mnt") return CLONE_NEWNS;
  if (type == "ipc") return CLONE_NEWIPC;
  if (type == "uts") return CLONE_NEWUTS;
  if (type == "user") return CLONE_NEWUSER;
  if (type == "cgroup") return CLONE_NEWCGROUP;
  return 0;
}

const char* NamespaceProcName(int flag) {
  switch (flag) {
    case CLONE_NEWPID: return "pid";
    case CLONE_NEWNET: return "net";
    case CLONE_NEWNS: return "mnt";
    case CLONE_NEWIPC: return "ipc";
    case CLONE_NEWUTS: return "uts";
    case CLONE_NEWUSER: return "user";
    case CLONE_NEWCGROUP: return "cgroup";
  }
  return "";
}

void ResetSignalsInChild() {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &sa, nullptr);  // EINVAL for the libc-reserved ones: fine
  }
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
}

void MarkCloexecFrom(int first) {
  syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, CLOSE_RANGE_CLOEXEC);
}

std::string AbsolutePath(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[4096];
  if (getcwd(cwd, sizeof(cwd)) == nullptr) return path;
  if (path.empty() || path == ".") return cwd;
  return absl::StrCat(cwd, "/", path);
}

absl::Status WriteProcFile(pid_t pid, const std::string& file, const std::string& data) {
  std::string path = absl::StrCat("/proc/", pid, "/", file);
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + path);
  ssize_t n = write(fd, data.data(), data.size());
  int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(data.size())) return ErrnoStatus(err, "write " + path);
  return absl::OkStatus();
}

namespace {
// 1 = got a message, 0 = EOF, <0 = -errno.
int ReadMessage(int fd, ChildMessage* msg) {
  size_t got = 0;
  auto* p = reinterpret_cast<char*>(msg);
  while (got < sizeof(*msg)) {
    ssize_t n = read(fd, p + got, sizeof(*msg) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) return got == 0 ? 0 : -EPROTO;
    got += static_cast<size_t>(n);
  }
  return 1;
}
}  // namespace

absl::Status ReadChildReady(int fd, const RootfsPlan* rootfs, const ProcessPlan* process) {
  ChildMessage msg;
  int r = ReadMessage(fd, &msg);
  if (r < 0) return ErrnoStatus(-r, "read from container init");
  if (r == 0) return absl::InternalError("container init exited during setup");
  if (msg.kind == kMsgReady) return absl::OkStatus();
  return ChildErrorToStatus(msg, rootfs, process);
}

absl::Status ReadChildExec(int fd, const ProcessPlan* process) {
  ChildMessage msg;
  int r = ReadMessage(fd, &msg);
  if (r < 0) return ErrnoStatus(-r, "read from container process");
  if (r == 0) return absl::OkStatus();
  return ChildErrorToStatus(msg, nullptr, process);
}

}  // namespace berth::executor
