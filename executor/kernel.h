// The kernel as the container setup sees it: a narrow interface so the ordering and options of
// the setup sequence can be unit tested with a recording fake, without root.
//
// Every method returns 0 (or a non-negative result) on success and -errno on failure.
// Implementations used after clone() must not allocate, lock or log: LinuxKernel only issues
// system calls. Strings are NUL-terminated and owned by the caller.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

namespace berth::executor {

class Kernel {
 public:
  virtual ~Kernel() = default;

  // Filesystem and mounts.
  virtual int Mount(const char* source, const char* target, const char* fstype,
                    unsigned long flags, const char* data) = 0;
  virtual int Umount2(const char* target, int flags) = 0;
  virtual int PivotRoot(const char* new_root, const char* put_old) = 0;
  virtual int Chroot(const char* path) = 0;
  virtual int Chdir(const char* path) = 0;
  virtual int Mkdir(const char* path, mode_t mode) = 0;
  virtual int Mknod(const char* path, mode_t mode, dev_t dev) = 0;
  virtual int Symlink(const char* target, const char* linkpath) = 0;
  virtual int Unlink(const char* path) = 0;
  virtual int Chown(const char* path, uid_t uid, gid_t gid) = 0;
  // Creates an empty regular file if nothing exists at `path` (a bind-mount target).
  virtual int CreateFile(const char* path) = 0;
  // 1 directory, 0 something else, -errno (e.g. -ENOENT).
  virtual int IsDir(const char* path) = 0;
  // The MS_* flags a mount point carries now (statfs f_flags), or -errno.
  virtual long MountFlags(const char* path) = 0;
  virtual int WriteFile(const char* path, const char* data, size_t len) = 0;
  virtual int Access(const char* path, int mode) = 0;

  // File descriptors.
  virtual int Open(const char* path, int flags) = 0;
  virtual int Close(int fd) = 0;
  virtual int Dup2(int from, int to) = 0;
  virtual int Write(int fd, const void* data, size_t len) = 0;
  virtual int Read(int fd, void* data, size_t len) = 0;
  virtual int Ioctl(int fd, unsigned long request, void* arg) = 0;
  // Sends `fd` over the unix socket `sock` as SCM_RIGHTS, with `name` as the payload.
  virtual int SendFd(int sock, const char* name, int fd) = 0;

  // Namespaces and identity.
  virtual int Unshare(int flags) = 0;
  virtual int Setns(int fd, int nstype) = 0;
  virtual int Sethostname(const char* name, size_t len) = 0;
  virtual int Setdomainname(const char* name, size_t len) = 0;
  virtual int Setsid() = 0;
  virtual int Setgroups(size_t n, const gid_t* groups) = 0;
  virtual int Setresgid(gid_t gid) = 0;
  virtual int Setresuid(uid_t uid) = 0;
  virtual int Umask(mode_t mask) = 0;

  // Process attributes.
  virtual int Setrlimit(int resource, uint64_t soft, uint64_t hard) = 0;
  virtual int Prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4) = 0;
  // capset(2) with the three 64-bit sets (version 3 header).
  virtual int Capset(uint64_t effective, uint64_t permitted, uint64_t inheritable) = 0;
  virtual int SeccompLoad(const sock_fprog* prog, unsigned int flags) = 0;
  virtual pid_t Getpid() = 0;
  // Runs an OCI hook: fork, the concatenated `in` buffers on its stdin, execve(path), wait.
  // After timeout_sec (0 = none) the hook is killed and -ETIMEDOUT returned. Otherwise the
  // wait status (>= 0), or -errno when the hook could not be started.
  virtual int RunHook(const char* path, char* const argv[], char* const envp[],
                      const struct iovec* in, int in_count, int timeout_sec) = 0;
  // Only returns on failure.
  virtual int Execve(const char* path, char* const argv[], char* const envp[]) = 0;
};

// The real kernel: one system call per method. Safe after clone().
Kernel& RealKernel();

}  // namespace berth::executor
