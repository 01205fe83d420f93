#include "core/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/status_macros.h"

namespace berth::fs {
namespace {

// Temp file beside `path`, written, renamed over it; fsync'd first when `durable`.
absl::Status WriteViaRename(const std::string& path, absl::string_view data, int mode,
                            bool durable) {
  std::string tmp = absl::StrCat(path, ".tmp-", ::getpid(), "-", std::random_device{}());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoStatus(absl::StrCat("create ", tmp));
  absl::Status status = WriteAll(fd, data, tmp);
  if (status.ok() && ::fchmod(fd, mode) != 0) status = ErrnoStatus(absl::StrCat("chmod ", tmp));
  if (status.ok() && durable && ::fsync(fd) != 0) {
    status = ErrnoStatus(absl::StrCat("fsync ", tmp));
  }
  ::close(fd);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoStatus(absl::StrCat("rename ", tmp, " to ", path));
  }
  if (!status.ok()) ::unlink(tmp.c_str());
  return status;
}

}  // namespace

absl::Status WriteAll(int fd, absl::string_view data, absl::string_view what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(absl::StrCat("write ", what));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

std::string Dirname(absl::string_view path) {
  auto pos = path.rfind('/');
  if (pos == absl::string_view::npos) return ".";
  if (pos == 0) return "/";
  return std::string(path.substr(0, pos));
}

absl::Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open directory ", dir));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus(err, absl::StrCat("fsync ", dir));
  return absl::OkStatus();
}

absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, int mode) {
  BERTH_RETURN_IF_ERROR(WriteViaRename(path, data, mode, /*durable=*/true));
  return SyncDir(Dirname(path));
}

absl::Status WriteFileReplace(const std::string& path, absl::string_view data, int mode) {
  return WriteViaRename(path, data, mode, /*durable=*/false);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open ", path));
  // Read straight into the string: callers include threads with 64 KiB stacks (the shim's
  // reaper), where a large stack buffer would jump the guard page into a neighbour's memory.
  std::string out;
  size_t used = 0;
  for (;;) {
    if (out.size() - used < 4096) out.resize(std::max<size_t>(out.size() * 2, 16384));
    ssize_t n = ::read(fd, out.data() + used, out.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoStatus(err, absl::StrCat("read ", path));
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(used);
  return out;
}

absl::Status MkdirAll(const std::string& path, int mode) {
  // Leaf first, parents only when missing: most callers add one directory under parents that
  // exist (a container's cgroup in each of a dozen hierarchies), one mkdir instead of one per
  // path component.
  if (::mkdir(path.c_str(), mode) == 0) return absl::OkStatus();
  if (errno == ENOENT) {
    size_t end = path.find_last_not_of('/');
    size_t slash = end == std::string::npos ? std::string::npos : path.rfind('/', end);
    if (slash != std::string::npos && slash != 0) {
      BERTH_RETURN_IF_ERROR(MkdirAll(path.substr(0, slash), mode));
      if (::mkdir(path.c_str(), mode) == 0) return absl::OkStatus();
    }
  }
  if (errno != EEXIST) return ErrnoStatus(absl::StrCat("mkdir ", path));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(absl::StrCat("stat ", path));
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a directory"));
  }
  return absl::OkStatus();
}

absl::Status RemoveAll(const std::string& path) {
  struct statx top;
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_TYPE, &top) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(absl::StrCat("stat ", path));
  }
  if (!S_ISDIR(top.stx_mode)) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return ErrnoStatus(absl::StrCat("remove ", path));
    }
    return absl::OkStatus();
  }
  // Depth-first with a stack of directory fds on the heap, not the call stack: a layer may nest
  // directories thousands deep. Each level keeps only its fd and where to resume reading (the
  // getdents64 cookie after the entry it descended into), so a deep tree costs an fd per level
  // and one shared buffer, not a DIR's 32 KiB each.
  struct Frame {
    int fd;
    std::string name;  // in the parent frame's directory
    off_t resume = 0;
  };
  std::vector<Frame> stack;
  std::vector<char> buf(16 * 1024);
  absl::Status first_error;
  auto fail = [&](absl::Status st) {
    if (first_error.ok()) first_error = std::move(st);
  };
  auto where = [&](absl::string_view name) {
    std::string out = path;
    for (size_t i = 1; i < stack.size(); ++i) absl::StrAppend(&out, "/", stack[i].name);
    if (!name.empty()) absl::StrAppend(&out, "/", name);
    return out;
  };
  int top_fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (top_fd < 0) return ErrnoStatus(absl::StrCat("open directory ", path));
  stack.push_back({top_fd, ""});
  while (!stack.empty()) {
    int dfd = stack.back().fd;
    long n = -1;
    if (::lseek(dfd, stack.back().resume, SEEK_SET) >= 0) {
      n = ::syscall(SYS_getdents64, dfd, buf.data(), buf.size());
    }
    if (n <= 0) {  // the end, or an error: this level is done
      if (n < 0) fail(ErrnoStatus(absl::StrCat("read directory ", where(""))));
      std::string name = std::move(stack.back().name);
      ::close(dfd);
      stack.pop_back();
      if (!stack.empty() && ::unlinkat(stack.back().fd, name.c_str(), AT_REMOVEDIR) != 0) {
        fail(ErrnoStatus(absl::StrCat("remove ", where(name))));
      }
      continue;
    }
    for (long pos = 0; pos < n;) {
      const auto* e = reinterpret_cast<const struct dirent64*>(buf.data() + pos);
      pos += e->d_reclen;
      stack.back().resume = e->d_off;
      const char* name = e->d_name;
      if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
      bool maybe_dir = e->d_type == DT_DIR || e->d_type == DT_UNKNOWN;
      struct statx st;
      if (maybe_dir && ::statx(dfd, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &st) != 0) {
        if (errno != ENOENT) fail(ErrnoStatus(absl::StrCat("stat ", where(name))));
        continue;
      }
      if (!maybe_dir || !S_ISDIR(st.stx_mode)) {
        if (::unlinkat(dfd, name, 0) != 0 && errno != ENOENT) {
          fail(ErrnoStatus(absl::StrCat("remove ", where(name))));
        }
        continue;
      }
      // Another filesystem, or a bind mount of this one, is left alone, as rm --one-file-system
      // does: what is mounted there is not ours to delete.
      bool mount_root = (st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) != 0
                            ? (st.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0
                            : st.stx_dev_major != top.stx_dev_major ||
                                  st.stx_dev_minor != top.stx_dev_minor;
      if (mount_root) {
        fail(absl::FailedPreconditionError(
            absl::StrCat("remove ", path, ": ", where(name), " is a mount point; left alone")));
        continue;
      }
      int child = ::openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child < 0) {
        fail(ErrnoStatus(absl::StrCat("open directory ", where(name))));
        continue;
      }
      stack.push_back({child, name});
      break;  // read the child; this level resumes after it
    }
  }
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT) {
    fail(ErrnoStatus(absl::StrCat("remove ", path)));
  }
  return first_error;
}

bool SpreadSubdirectories(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  int flags = 0;
  bool ok = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
  if (ok && (flags & FS_TOPDIR_FL) == 0) {
    flags |= FS_TOPDIR_FL;
    ok = ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
  }
  ::close(fd);
  return ok;
}

}  // namespace berth::fs
