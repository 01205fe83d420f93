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
    if (chown_ &&
        ::fchownat(parent_fd, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus(absl::StrCat("chown implicit directory ", rel));
    }
    Defer({rel, static_cast<mode_t>(st.st_mode & 07777), {st.st_atim, st.st_mtim}}, true);
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

std::vector<std::string> Applier::implicit_dirs() const {
  std::vector<std::string> out;
  for (const std::string& rel : implicit_dirs_) {
    if (!listed_dirs_.count(rel)) out.push_back(rel);
  }
  return out;
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
  if (options_.mode == Mode::kOverlayUpper) {
    on_create = [this](int parent_fd, const std::string& name, const std::string& rel) {
      implicit_dirs_.push_back(rel);
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
                                                   " exceeds the limit ", options_.max_entry_size));
  }
  if (archive_entry_uid(entry) < 0 || archive_entry_uid(entry) > 0xfffffffe ||
      archive_entry_gid(entry) < 0 || archive_entry_gid(entry) > 0xfffffffe) {
    return absl::InvalidArgumentError("owner id out of range");
  }
  if (rel.empty()) {  // "./": the root directory's own metadata
    if (type != AE_IFDIR || archive_entry_hardlink(entry) != nullptr) {
      return absl::InvalidArgumentError("the root entry must be a directory");
    }
    root_listed_ = true;
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
    return absl::InvalidArgumentError(absl::StrCat(
        "hardlink target \"", target, "\": ", clean.ok() ? "root" : clean.status().message()));
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
      dev_t dev = type == AE_IFIFO
                      ? 0
                      : makedev(archive_entry_rdevmajor(entry), archive_entry_rdevminor(entry));
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
