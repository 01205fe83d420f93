// The real Kernel: raw system calls only (this code runs between clone() and execve()).
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/fd_passing.h"
#include "executor/kernel.h"

namespace berth::executor {
namespace {

inline int Ret(long r) { return r < 0 ? -errno : static_cast<int>(r); }

class LinuxKernel final : public Kernel {
 public:
  int Mount(const char* source, const char* target, const char* fstype, unsigned long flags,
            const char* data) override {
    return Ret(::mount(source, target, fstype, flags, data));
  }
  int Umount2(const char* target, int flags) override { return Ret(::umount2(target, flags)); }
  int PivotRoot(const char* new_root, const char* put_old) override {
    return Ret(syscall(SYS_pivot_root, new_root, put_old));
  }
  int Chroot(const char* path) override { return Ret(::chroot(path)); }
  int Chdir(const char* path) override { return Ret(::chdir(path)); }
  int Mkdir(const char* path, mode_t mode) override { return Ret(::mkdir(path, mode)); }
  int Mknod(const char* path, mode_t mode, dev_t dev) override {
    return Ret(::mknod(path, mode, dev));
  }
  int Symlink(const char* target, const char* linkpath) override {
    return Ret(::symlink(target, linkpath));
  }
  int Unlink(const char* path) override { return Ret(::unlink(path)); }
  int Chown(const char* path, uid_t uid, gid_t gid) override {
    return Ret(::lchown(path, uid, gid));
  }
  int CreateFile(const char* path) override {
    int fd = ::open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return -errno;
    ::close(fd);
    return 0;
  }
  int IsDir(const char* path) override {
    struct stat st;
    if (::stat(path, &st) != 0) return -errno;
    return S_ISDIR(st.st_mode) ? 1 : 0;
  }
  long MountFlags(const char* path) override {
    struct statfs st;
    if (::statfs(path, &st) != 0) return -errno;
    return st.f_flags;
  }
  int WriteFile(const char* path, const char* data, size_t len) override {
    int fd = ::open(path, O_WRONLY | O_CLOEXEC | O_TRUNC);
    if (fd < 0) return -errno;
    ssize_t n = ::write(fd, data, len);
    int err = n < 0 ? -errno : 0;
    ::close(fd);
    return err;
  }
  int Access(const char* path, int mode) override { return Ret(::access(path, mode)); }
  int Open(const char* path, int flags) override { return Ret(::open(path, flags, 0)); }
  int Close(int fd) override { return Ret(::close(fd)); }
  int Dup2(int from, int to) override { return Ret(::dup2(from, to)); }
  int Write(int fd, const void* data, size_t len) override {
    ssize_t n;
    do {
      n = ::write(fd, data, len);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : static_cast<int>(n);
  }
  int Read(int fd, void* data, size_t len) override {
    ssize_t n;
    do {
      n = ::read(fd, data, len);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : static_cast<int>(n);
  }
  int Ioctl(int fd, unsigned long request, void* arg) override {
    return Ret(::ioctl(fd, request, arg));
  }
  int SendFd(int sock, const char* name, int fd) override {
    ssize_t n = fdpass::SendWithFd(sock, name, strlen(name), fd);
    return n < 0 ? static_cast<int>(n) : 0;
  }
  int Unshare(int flags) override { return Ret(::unshare(flags)); }
  int Setns(int fd, int nstype) override { return Ret(::setns(fd, nstype)); }
  int Sethostname(const char* name, size_t len) override { return Ret(::sethostname(name, len)); }
  int Setdomainname(const char* name, size_t len) override {
    return Ret(::setdomainname(name, len));
  }
  int Setsid() override { return Ret(::setsid()); }
  // Raw syscalls: glibc's wrappers broadcast id changes to all threads (setxid), which is
  // pointless in a single-threaded child.
  int Setgroups(size_t n, const gid_t* groups) override {
    return Ret(syscall(SYS_setgroups, n, groups));
  }
  int Setresgid(gid_t gid) override { return Ret(syscall(SYS_setresgid, gid, gid, gid)); }
  int Setresuid(uid_t uid) override { return Ret(syscall(SYS_setresuid, uid, uid, uid)); }
  int Umask(mode_t mask) override {
    ::umask(mask);
    return 0;
  }
  int Setrlimit(int resource, uint64_t soft, uint64_t hard) override {
    struct rlimit rl;
    rl.rlim_cur = soft;
    rl.rlim_max = hard;
    return Ret(::setrlimit(static_cast<__rlimit_resource>(resource), &rl));
  }
  int Prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4) override {
    return Ret(::prctl(option, a2, a3, a4, 0));
  }
  int Capset(uint64_t effective, uint64_t permitted, uint64_t inheritable) override {
    struct __user_cap_header_struct hdr;
    hdr.version = _LINUX_CAPABILITY_VERSION_3;
    hdr.pid = 0;
    struct __user_cap_data_struct data[2];
    data[0].effective = static_cast<uint32_t>(effective);
    data[1].effective = static_cast<uint32_t>(effective >> 32);
    data[0].permitted = static_cast<uint32_t>(permitted);
    data[1].permitted = static_cast<uint32_t>(permitted >> 32);
    data[0].inheritable = static_cast<uint32_t>(inheritable);
    data[1].inheritable = static_cast<uint32_t>(inheritable >> 32);
    return Ret(syscall(SYS_capset, &hdr, data));
  }
  int SeccompLoad(const sock_fprog* prog, unsigned int flags) override {
    return Ret(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog));
  }
  pid_t Getpid() override { return static_cast<pid_t>(syscall(SYS_getpid)); }
  int RunHook(const char* path, char* const argv[], char* const envp[], const struct iovec* in,
              int in_count, int timeout_sec) override;
  int Execve(const char* path, char* const argv[], char* const envp[]) override {
    return Ret(::execve(path, argv, envp));
  }
};

// Writes the buffers to fd; stops quietly when the hook closed its stdin (EPIPE).
void WriteAll(int fd, const struct iovec* in, int in_count) {
  for (int i = 0; i < in_count; ++i) {
    const char* p = static_cast<const char*>(in[i].iov_base);
    size_t left = in[i].iov_len;
    while (left > 0) {
      ssize_t n = ::write(fd, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
}

int64_t MonotonicMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

int LinuxKernel::RunHook(const char* path, char* const argv[], char* const envp[],
                         const struct iovec* in, int in_count, int timeout_sec) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return -errno;
  size_t total = 0;
  for (int i = 0; i < in_count; ++i) total += in[i].iov_len;
  // A hook that never reads stdin must not block us: make the pipe hold the whole state.
  if (total > 65536) ::fcntl(p[1], F_SETPIPE_SZ, static_cast<int>(total));
  // Raw clone, not fork(): glibc's fork runs atfork handlers that take malloc's locks.
  long pid = syscall(SYS_clone, static_cast<unsigned long>(SIGCHLD), nullptr, nullptr, nullptr,
                     nullptr);
  if (pid < 0) {
    int err = errno;
    ::close(p[0]);
    ::close(p[1]);
    return -err;
  }
  if (pid == 0) {
    ::setpgid(0, 0);  // its own group, so a timeout kills what it started too
    ::dup2(p[0], 0);  // the new descriptor is not close-on-exec
    ::execve(path, argv, envp);
    _exit(127);
  }
  ::close(p[0]);
  // A hook that exits without reading would send us SIGPIPE: ignore it while writing.
  struct sigaction ignore, old;
  memset(&ignore, 0, sizeof(ignore));
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old);
  WriteAll(p[1], in, in_count);
  ::sigaction(SIGPIPE, &old, nullptr);
  ::close(p[1]);
  int64_t deadline = MonotonicMs() + static_cast<int64_t>(timeout_sec) * 1000;
  for (;;) {
    int status = 0;
    pid_t r = static_cast<pid_t>(::waitpid(static_cast<pid_t>(pid), &status,
                                           timeout_sec > 0 ? WNOHANG : 0));
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -errno;
    if (timeout_sec > 0 && MonotonicMs() >= deadline) {
      ::kill(-static_cast<pid_t>(pid), SIGKILL);
      ::kill(static_cast<pid_t>(pid), SIGKILL);  // in case setpgid had not run yet
      ::waitpid(static_cast<pid_t>(pid), &status, 0);
      return -ETIMEDOUT;
    }
    if (timeout_sec > 0) {
      struct timespec ts = {0, 5 * 1000 * 1000};
      ::nanosleep(&ts, nullptr);
    }
  }
}

}  // namespace

Kernel& RealKernel() {
  static LinuxKernel kernel;
  return kernel;
}

}  // namespace berth::executor
