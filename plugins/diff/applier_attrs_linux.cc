// Applier, part 2: file data and attributes (owner, xattrs, mode, times) of extracted entries.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "plugins/diff/applier.h"

namespace berth::diff::internal {
namespace {

std::string ProcPath(int pfd, const std::string& base) {
  return absl::StrCat("/proc/self/fd/", pfd, "/", base);
}

void EntryTimes(struct archive_entry* e, struct timespec times[2]) {
  times[1].tv_sec = archive_entry_mtime(e);
  times[1].tv_nsec = archive_entry_mtime_nsec(e);
  if (archive_entry_atime_is_set(e)) {
    times[0].tv_sec = archive_entry_atime(e);
    times[0].tv_nsec = archive_entry_atime_nsec(e);
  } else {
    times[0] = times[1];
  }
}

absl::Status WriteAll(int fd, const char* data, size_t len, int64_t offset, int64_t* pos) {
  while (len > 0) {
    ssize_t n = offset == *pos ? ::write(fd, data, len) : ::pwrite(fd, data, len, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write");
    }
    data += n;
    len -= static_cast<size_t>(n);
    offset += n;
    if (offset > *pos) *pos = offset;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Applier::WriteRegular(struct archive* a, struct archive_entry* entry, int fd) {
  int64_t pos = 0;
  for (;;) {
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int r = archive_read_data_block(a, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      return absl::InvalidArgumentError(absl::StrCat("read data: ", archive_error_string(a)));
    }
    if (offset < 0 || offset + static_cast<int64_t>(size) > options_.max_entry_size) {
      return absl::InvalidArgumentError("data beyond the entry size limit");
    }
    BERTH_RETURN_IF_ERROR(WriteAll(fd, static_cast<const char*>(buf), size, offset, &pos));
  }
  // Sparse files end in a hole: the last data block stops short of the size.
  int64_t size = archive_entry_size(entry);
  if (size > pos && ::ftruncate(fd, size) != 0) return ErrnoStatus("truncate");
  return absl::OkStatus();
}

absl::Status Applier::SetXattrs(struct archive_entry* entry, int fd, int pfd,
                                const std::string& base) {
  if (archive_entry_xattr_reset(entry) == 0) return absl::OkStatus();
  const char* name;
  const void* value;
  size_t size;
  std::string path;
  while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
    absl::string_view n(name);
    bool allowed = absl::StartsWith(n, "user.") || absl::StartsWith(n, "security.") ||
                   absl::StartsWith(n, "system.posix_acl_") ||
                   (absl::StartsWith(n, "trusted.") && options_.allow_trusted_xattrs);
    // trusted.overlay.* would steer overlayfs (redirect, metacopy, opaque): never from a tar.
    if (!allowed || absl::StartsWith(n, "trusted.overlay.")) continue;
    int rc;
    if (fd >= 0) {
      rc = ::fsetxattr(fd, name, value, size, 0);
    } else {
      if (path.empty()) path = ProcPath(pfd, base);
      rc = ::lsetxattr(path.c_str(), name, value, size, 0);
    }
    if (rc != 0) {
      // Filesystems without xattrs, and unprivileged runs for security.*, lose them quietly
      // (containerd does the same for ENOTSUP).
      if (errno == ENOTSUP || (errno == EPERM && !is_root_)) continue;
      return ErrnoStatus(absl::StrCat("set xattr ", name));
    }
  }
  return absl::OkStatus();
}

absl::Status Applier::SetMetadata(struct archive_entry* entry, int fd, int pfd,
                                  const std::string& base) {
  const char* name = base.c_str();
  uid_t uid = static_cast<uid_t>(archive_entry_uid(entry));
  gid_t gid = static_cast<gid_t>(archive_entry_gid(entry));
  bool is_link = archive_entry_filetype(entry) == AE_IFLNK;
  // Order matters: chown clears setuid/setgid and security.capability, so mode and xattrs
  // come after it; times come last because nothing after them may touch the inode.
  if (chown_) {
    int rc =
        fd >= 0 ? ::fchown(fd, uid, gid) : ::fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
    if (rc != 0) return ErrnoStatus("chown");
  }
  BERTH_RETURN_IF_ERROR(SetXattrs(entry, fd, pfd, base));
  if (!is_link) {
    mode_t mode = archive_entry_perm(entry) & 07777;
    int rc = fd >= 0 ? ::fchmod(fd, mode) : ::fchmodat(pfd, name, mode, AT_SYMLINK_NOFOLLOW);
    if (rc != 0) return ErrnoStatus("chmod");
  }
  struct timespec times[2];
  EntryTimes(entry, times);
  int rc = fd >= 0 ? ::futimens(fd, times) : ::utimensat(pfd, name, times, AT_SYMLINK_NOFOLLOW);
  if (rc != 0) return ErrnoStatus("set times");
  return absl::OkStatus();
}

absl::Status Applier::SetDirMetadata(struct archive_entry* entry, int dir_fd,
                                     const std::string& rel) {
  if (chown_ && ::fchown(dir_fd, static_cast<uid_t>(archive_entry_uid(entry)),
                         static_cast<gid_t>(archive_entry_gid(entry))) != 0) {
    return ErrnoStatus("chown");
  }
  BERTH_RETURN_IF_ERROR(SetXattrs(entry, dir_fd, -1, ""));
  DeferredDir d{rel, static_cast<mode_t>(archive_entry_perm(entry) & 07777), {}};
  EntryTimes(entry, d.times);
  listed_dirs_.insert(d.rel);
  Defer(std::move(d), true);
  return absl::OkStatus();
}

}  // namespace berth::diff::internal
