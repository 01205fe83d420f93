#include "executor/background_netns.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/fd_passing.h"
#include "core/status.h"

namespace berth::executor {
namespace {

// The helper, between clone() and _exit(): system calls only. Sends the fd of a new network
// namespace, or an errno byte without one.
[[noreturn]] void MakeAndSend(int sock) {
  unsigned char err = 0;
  int fd = -1;
  if (unshare(CLONE_NEWNET) != 0 || (fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) {
    err = static_cast<unsigned char>(errno);
  }
  fdpass::SendWithFd(sock, &err, 1, fd);
  _exit(0);
}

}  // namespace

BackgroundNetns::BackgroundNetns() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    start_errno_ = errno;
    return;
  }
  // fork()-like: the helper runs on a copy of this process (no interceptor, no atfork handler).
  pid_t pid = static_cast<pid_t>(
      syscall(SYS_clone, static_cast<unsigned long>(SIGCHLD), nullptr, nullptr, nullptr, nullptr));
  if (pid == 0) {
    close(sv[0]);
    MakeAndSend(sv[1]);
  }
  start_errno_ = pid < 0 ? errno : 0;
  close(sv[1]);
  if (pid < 0) {
    close(sv[0]);
    return;
  }
  sock_ = sv[0];
  pid_ = pid;
}

BackgroundNetns::~BackgroundNetns() {
  if (sock_ >= 0) close(sock_);  // a helper still sending gets EPIPE and ends
  Reap();
}

void BackgroundNetns::Reap() {
  if (pid_ <= 0) return;
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

absl::StatusOr<int> BackgroundNetns::Take() {
  if (sock_ < 0) return ErrnoStatus(start_errno_ != 0 ? start_errno_ : EBADF, "start netns helper");
  unsigned char err = 0;
  int fd = -1;
  ssize_t n = fdpass::RecvWithFd(sock_, &err, 1, &fd);
  close(sock_);
  sock_ = -1;
  Reap();
  if (n < 0) return ErrnoStatus(static_cast<int>(-n), "receive network namespace");
  if (n == 1 && err == 0 && fd >= 0) return fd;
  if (fd >= 0) close(fd);
  return ErrnoStatus(err != 0 ? err : EPROTO, "create network namespace");
}

}  // namespace berth::executor
