// OCI image spec "layer.md": changesets, whiteouts (.wh.<name>), opaque whiteouts (.wh..wh..opq).
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

constexpr absl::string_view kWhiteoutPrefix = ".wh.";
constexpr absl::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr absl::string_view kOpaqueWhiteout = ".wh..wh..opq";

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

Applier::Applier(int root_fd, const ApplyOptions& options)
    : root_fd_(root_fd), options_(options), is_root_(::geteuid() == 0) {
  chown_ = options.chown.value_or(is_root_);
}

absl::Status Applier::Init() {
  for (const std::string& dir : options_.parents) {
    Fd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return ErrnoStatus(absl::StrCat("open lower directory ", dir));
    lower_fds_.push_back(std::move(fd));
  }
  return absl::OkStatus();
}

absl::Status Applier::InheritFromLowers(int parent_fd, const std::string& name,
                                        const std::string& rel) {
  for (const Fd& lower : lower_fds_) {
    absl::StatusOr<Fd> dir = OpenDirBeneath(lower.get(), rel, /*create=*/false);
    if (!dir.ok()) continue;  // absent (or not a directory) in this lower
    struct stat st;
    if (::fstatat(dir->get(), "", &st, AT_EMPTY_PATH) != 0) return ErrnoStatus("stat lower");
    if (chown_ && ::fchownat(parent_fd, name.c_str(), st.st_uid, st.st_gid,
                             AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus(absl::StrCat("chown implicit directory ", rel));
    }
    Defer({rel, static_cast<mode_t>(st.st_mode & 07777), {st.st_atim, st.st_mtim}}, true);
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

void Applier::InvalidateParentCache() {
  cached_parent_fd_.Reset();
  cached_parent_.clear();
}

void Applier::Defer(DeferredDir dir, bool from_entry) {
  auto [it, fresh] = deferred_index_.emplace(dir.rel, deferred_dirs_.size());
  if (fresh) {
    deferred_dirs_.push_back(std::move(dir));
  } else if (from_entry) {
    deferred_dirs_[it->second] = std::move(dir);  // the layer's own entry wins
  }
}

absl::Status Applier::KeepTimesOf(int dir_fd, const std::string& rel) {
  // kPlain: a directory the layer changes without listing it keeps its lower attributes, as
  // it would in the overlay merged view (where it is copied up unchanged).
  if (options_.mode != Mode::kPlain || deferred_index_.count(rel)) return absl::OkStatus();
  struct stat st;
  if (::fstatat(dir_fd, "", &st, AT_EMPTY_PATH) != 0) return ErrnoStatus("stat directory");
  Defer({rel, static_cast<mode_t>(st.st_mode & 07777), {st.st_atim, st.st_mtim}}, false);
  return absl::OkStatus();
}

absl::StatusOr<int> Applier::Parent(const std::string& parent, bool create) {
  if (parent.empty()) {
    BERTH_RETURN_IF_ERROR(KeepTimesOf(root_fd_, parent));
    return root_fd_;
  }
  if (cached_parent_fd_.valid() && cached_parent_ == parent) return cached_parent_fd_.get();
  OnCreateDir on_create;
  if (!lower_fds_.empty()) {
    on_create = [this](int parent_fd, const std::string& name, const std::string& rel) {
      return InheritFromLowers(parent_fd, name, rel);
    };
  }
  BERTH_ASSIGN_OR_RETURN(Fd fd, OpenDirBeneath(root_fd_, parent, create, on_create));
  BERTH_RETURN_IF_ERROR(KeepTimesOf(fd.get(), parent));
  cached_parent_fd_ = std::move(fd);
  cached_parent_ = parent;
  return cached_parent_fd_.get();
}

absl::Status Applier::ApplyEntry(struct archive* a, struct archive_entry* entry) {
  const char* raw = archive_entry_pathname(entry);
  if (raw == nullptr) raw = archive_entry_pathname_utf8(entry);
  if (raw == nullptr) return absl::InvalidArgumentError("tar entry without a name");
  auto named = [raw](const absl::Status& s) {
    return Annotate(s, absl::StrCat("layer entry \"", raw, "\""));
  };
  if (++entries_ > options_.max_entries) {
    return named(absl::InvalidArgumentError(
        absl::StrCat("layer has more than ", options_.max_entries, " entries")));
  }
  absl::StatusOr<std::string> rel = CleanEntryPath(raw);
  if (!rel.ok()) return named(absl::InvalidArgumentError(rel.status().message()));
  absl::Status status = ApplyClean(a, entry, *rel);
  if (!status.ok()) return named(status);
  return absl::OkStatus();
}

absl::Status Applier::ApplyClean(struct archive* a, struct archive_entry* entry,
                                 const std::string& rel) {
  mode_t type = archive_entry_filetype(entry);
  if (archive_entry_size(entry) > options_.max_entry_size) {
    return absl::InvalidArgumentError(absl::StrCat("size ", archive_entry_size(entry),
                                                   " exceeds the limit ",
                                                   options_.max_entry_size));
  }
  if (archive_entry_uid(entry) < 0 || archive_entry_uid(entry) > 0xfffffffe ||
      archive_entry_gid(entry) < 0 || archive_entry_gid(entry) > 0xfffffffe) {
    return absl::InvalidArgumentError("owner id out of range");
  }
  if (rel.empty()) {  // "./": the root directory's own metadata
    if (type != AE_IFDIR || archive_entry_hardlink(entry) != nullptr) {
      return absl::InvalidArgumentError("the root entry must be a directory");
    }
    BERTH_ASSIGN_OR_RETURN(Fd dir, ReopenDir(root_fd_));
    return SetDirMetadata(entry, dir.get(), rel);
  }
  auto [parent, base] = SplitPath(rel);
  if (absl::StartsWith(base, kWhiteoutPrefix)) return ApplyWhiteout(parent, base);
  BERTH_ASSIGN_OR_RETURN(int pfd, Parent(parent, /*create=*/true));
  if (const char* target = archive_entry_hardlink(entry)) {
    return ApplyHardlink(pfd, base, rel, target);
  }
  BERTH_RETURN_IF_ERROR(CreateNode(a, entry, pfd, base, rel));
  Unpacked(rel);
  return absl::OkStatus();
}

absl::Status Applier::ReplaceExisting(int pfd, const std::string& base, bool entry_is_dir,
                                      bool* merge_dir) {
  *merge_dir = false;
  struct stat st;
  if (::fstatat(pfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? absl::OkStatus() : ErrnoStatus("stat existing");
  }
  if (entry_is_dir && S_ISDIR(st.st_mode)) {
    *merge_dir = true;
    return absl::OkStatus();
  }
  // OCI: an entry replaces what lower layers (or earlier entries) had at its path, whatever
  // the types. The parent cache stays valid: removals happen strictly below the cached
  // directory (pfd), and a later entry below the removed path resolves afresh.
  return RemoveAt(pfd, base);
}

absl::Status Applier::ApplyWhiteout(const std::string& parent, const std::string& base) {
  const bool overlay = options_.mode == Mode::kOverlayUpper;
  absl::StatusOr<int> pfd = Parent(parent, /*create=*/overlay);
  if (!overlay && absl::IsNotFound(pfd.status())) return absl::OkStatus();  // nothing to hide
  if (!pfd.ok()) return pfd.status();
  if (base == kOpaqueWhiteout) {
    if (overlay) {
      BERTH_ASSIGN_OR_RETURN(Fd dir, ReopenDir(*pfd));
      if (::fsetxattr(dir.get(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
        return ErrnoStatus("set trusted.overlay.opaque");
      }
      return absl::OkStatus();
    }
    return RemoveChildrenExcept(*pfd, parent, unpacked_);
  }
  if (absl::StartsWith(base, kWhiteoutMetaPrefix)) return absl::OkStatus();  // AUFS metadata
  std::string name = base.substr(kWhiteoutPrefix.size());
  if (name.empty() || name == "." || name == "..") {
    return absl::InvalidArgumentError("invalid whiteout name");
  }
  bool merge = false;
  BERTH_RETURN_IF_ERROR(ReplaceExisting(*pfd, name, /*entry_is_dir=*/false, &merge));
  if (!overlay) return absl::OkStatus();
  // overlayfs whiteout: a character device 0/0 (Documentation/filesystems/overlayfs.rst).
  if (::mknodat(*pfd, name.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) {
    return ErrnoStatus("mknod whiteout");
  }
  if (chown_ && ::fchownat(*pfd, name.c_str(), 0, 0, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus("chown whiteout");
  }
  return absl::OkStatus();
}

absl::Status Applier::ApplyHardlink(int pfd, const std::string& base, const std::string& rel,
                                    const char* target) {
  absl::StatusOr<std::string> clean = CleanEntryPath(target);
  if (!clean.ok() || clean->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("hardlink target \"", target, "\": ",
                                                   clean.ok() ? "root" : clean.status().message()));
  }
  if (*clean == rel) return absl::OkStatus();  // a link to itself: nothing to do
  auto [tparent, tbase] = SplitPath(*clean);
  // Resolve the source beneath the root without symlinks; its own fd, the cache serves pfd.
  absl::StatusOr<Fd> tdir = OpenDirBeneath(root_fd_, tparent, /*create=*/false);
  if (!tdir.ok()) {
    return Annotate(tdir.status(), absl::StrCat("hardlink target \"", target, "\""));
  }
  bool merge = false;
  BERTH_RETURN_IF_ERROR(ReplaceExisting(pfd, base, /*entry_is_dir=*/false, &merge));
  // flags 0: never follow a symlink at the source (the link then names the symlink itself).
  if (::linkat(tdir->get(), tbase.c_str(), pfd, base.c_str(), 0) != 0) {
    return ErrnoStatus(absl::StrCat("hardlink to \"", target, "\""));
  }
  Unpacked(rel);
  return absl::OkStatus();
}

absl::Status Applier::CreateNode(struct archive* a, struct archive_entry* entry, int pfd,
                                 const std::string& base, const std::string& rel) {
  mode_t type = archive_entry_filetype(entry);
  const char* name = base.c_str();
  bool merge = false;
  switch (type) {
    case AE_IFREG: {
      int fd = ::openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0 && errno == EEXIST) {
        BERTH_RETURN_IF_ERROR(ReplaceExisting(pfd, base, false, &merge));
        fd = ::openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      }
      if (fd < 0) return ErrnoStatus("create file");
      Fd file(fd);
      BERTH_RETURN_IF_ERROR(WriteRegular(a, entry, fd));
      return SetMetadata(entry, fd, pfd, base);
    }
    case AE_IFDIR: {
      if (::mkdirat(pfd, name, 0700) != 0) {
        if (errno != EEXIST) return ErrnoStatus("mkdir");
        BERTH_RETURN_IF_ERROR(ReplaceExisting(pfd, base, true, &merge));
        if (!merge && ::mkdirat(pfd, name, 0700) != 0) return ErrnoStatus("mkdir");
      }
      Fd dir(::openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!dir.valid()) return ErrnoStatus("open directory");
      return SetDirMetadata(entry, dir.get(), rel);
    }
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(entry);
      if (target == nullptr) target = archive_entry_symlink_utf8(entry);
      if (target == nullptr || *target == '\0') {
        return absl::InvalidArgumentError("symlink without a target");
      }
      // The target is content, never followed here: absolute targets are normal in images.
      if (::symlinkat(target, pfd, name) != 0) {
        if (errno != EEXIST) return ErrnoStatus("symlink");
        BERTH_RETURN_IF_ERROR(ReplaceExisting(pfd, base, false, &merge));
        if (::symlinkat(target, pfd, name) != 0) return ErrnoStatus("symlink");
      }
      return SetMetadata(entry, -1, pfd, base);
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: {
      dev_t dev = type == AE_IFIFO ? 0
                                   : makedev(archive_entry_rdevmajor(entry),
                                             archive_entry_rdevminor(entry));
      mode_t mode = type | (archive_entry_perm(entry) & 0777);
      if (::mknodat(pfd, name, mode, dev) != 0) {
        if (errno != EEXIST) return ErrnoStatus("mknod");
        BERTH_RETURN_IF_ERROR(ReplaceExisting(pfd, base, false, &merge));
        if (::mknodat(pfd, name, mode, dev) != 0) return ErrnoStatus("mknod");
      }
      return SetMetadata(entry, -1, pfd, base);
    }
    case AE_IFSOCK:
      return absl::OkStatus();  // sockets are not layer content (as containerd)
    default:
      return absl::InvalidArgumentError(absl::StrCat("unsupported entry type 0", type));
  }
}

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
    int rc = fd >= 0 ? ::fchown(fd, uid, gid)
                     : ::fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
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
  Defer(std::move(d), true);
  return absl::OkStatus();
}

absl::Status Applier::Finish() {
  InvalidateParentCache();
  // Children first: a parent made read-only must not stop us reaching its children.
  for (auto it = deferred_dirs_.rbegin(); it != deferred_dirs_.rend(); ++it) {
    absl::StatusOr<Fd> dir = OpenDirBeneath(root_fd_, it->rel, /*create=*/false);
    if (!dir.ok()) continue;  // replaced or whited out by a later entry
    absl::StatusOr<Fd> readable = ReopenDir(dir->get());
    if (!readable.ok()) continue;
    if (::fchmod(readable->get(), it->mode) != 0 || ::futimens(readable->get(), it->times) != 0) {
      return Annotate(ErrnoStatus("set directory mode/times"),
                      absl::StrCat("layer entry \"", it->rel, "\""));
    }
  }
  return absl::OkStatus();
}

}  // namespace berth::diff::internal
