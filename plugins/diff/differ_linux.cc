// Diff: directories -> OCI layer tar. Walk order is depth-first with names sorted bytewise in
// each directory (as Go's filepath.Walk in containerd), a directory before its content.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "plugins/diff/diff.h"
#include "plugins/diff/safe_fs.h"
#include "plugins/diff/tar_writer.h"

namespace berth::diff {
namespace {

using internal::JoinPath;
using internal::TarWriter;

absl::StatusOr<std::vector<std::string>> SortedNames(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus(absl::StrCat("open directory ", dir));
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* de = ::readdir(d)) {
    if (std::strcmp(de->d_name, ".") != 0 && std::strcmp(de->d_name, "..") != 0) {
      names.emplace_back(de->d_name);
    }
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return ErrnoStatus(err, absl::StrCat("read directory ", dir));
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<struct stat> Lstat(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return ErrnoStatus(absl::StrCat("lstat ", path));
  return st;
}

bool IsOpaque(const std::string& path) {
  char value[4];
  ssize_t n = ::lgetxattr(path.c_str(), "trusted.overlay.opaque", value, sizeof(value));
  return n == 1 && value[0] == 'y';
}

std::string Child(const std::string& dir, const std::string& name) {
  return absl::StrCat(dir, "/", name);
}

// Every entry below `dir` (whose layer name is `rel`), as it is.
absl::Status AddTree(TarWriter& tar, const std::string& dir, const std::string& rel) {
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> names, SortedNames(dir));
  for (const std::string& name : names) {
    std::string path = Child(dir, name);
    BERTH_ASSIGN_OR_RETURN(struct stat st, Lstat(path));
    std::string child_rel = JoinPath(rel, name);
    BERTH_RETURN_IF_ERROR(tar.AddPath(path, child_rel, st));
    if (S_ISDIR(st.st_mode)) BERTH_RETURN_IF_ERROR(AddTree(tar, path, child_rel));
  }
  return absl::OkStatus();
}

// overlayfs upper: whiteout devices and opaque directories translate to OCI whiteouts.
absl::Status WalkUpper(TarWriter& tar, const std::string& dir, const std::string& rel) {
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> names, SortedNames(dir));
  for (const std::string& name : names) {
    std::string path = Child(dir, name);
    BERTH_ASSIGN_OR_RETURN(struct stat st, Lstat(path));
    std::string child_rel = JoinPath(rel, name);
    if (S_ISCHR(st.st_mode) && st.st_rdev == 0) {
      BERTH_RETURN_IF_ERROR(tar.AddWhiteout(JoinPath(rel, ".wh." + name)));
      continue;
    }
    BERTH_RETURN_IF_ERROR(tar.AddPath(path, child_rel, st));
    if (!S_ISDIR(st.st_mode)) continue;
    if (IsOpaque(path)) BERTH_RETURN_IF_ERROR(tar.AddWhiteout(JoinPath(child_rel, ".wh..wh..opq")));
    BERTH_RETURN_IF_ERROR(WalkUpper(tar, path, child_rel));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> SameContent(const std::string& a, const std::string& b, int64_t size) {
  int fa = ::open(a.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fa < 0) return ErrnoStatus(absl::StrCat("open ", a));
  internal::Fd owned_a(fa);
  int fb = ::open(b.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fb < 0) return ErrnoStatus(absl::StrCat("open ", b));
  internal::Fd owned_b(fb);
  std::vector<char> ba(1 << 16), bb(1 << 16);
  for (int64_t left = size; left > 0;) {
    ssize_t na = ::read(fa, ba.data(), ba.size());
    ssize_t nb = ::read(fb, bb.data(), bb.size());
    if (na <= 0 || na != nb) return na == nb && na == 0;
    if (std::memcmp(ba.data(), bb.data(), static_cast<size_t>(na)) != 0) return false;
    left -= na;
  }
  return true;
}

absl::StatusOr<std::string> LinkTarget(const std::string& path) {
  std::string target(4097, '\0');
  ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
  if (n < 0) return ErrnoStatus(absl::StrCat("readlink ", path));
  target.resize(static_cast<size_t>(n));
  return target;
}

// Whether the upper entry differs from the lower one of the same type (containerd's
// fs.sameFile: metadata, xattrs, link target, and content when timestamps are too coarse).
absl::StatusOr<bool> Changed(const std::string& lp, const struct stat& ls, const std::string& up,
                             const struct stat& us) {
  if (ls.st_mode != us.st_mode || ls.st_uid != us.st_uid || ls.st_gid != us.st_gid) return true;
  if (ls.st_mtim.tv_sec != us.st_mtim.tv_sec || ls.st_mtim.tv_nsec != us.st_mtim.tv_nsec) {
    return true;
  }
  if (!S_ISDIR(us.st_mode) && ls.st_size != us.st_size) return true;
  if ((S_ISCHR(us.st_mode) || S_ISBLK(us.st_mode)) && ls.st_rdev != us.st_rdev) return true;
  BERTH_ASSIGN_OR_RETURN(auto lx, internal::LayerXattrs(lp));
  BERTH_ASSIGN_OR_RETURN(auto ux, internal::LayerXattrs(up));
  if (lx != ux) return true;
  if (S_ISLNK(us.st_mode)) {
    BERTH_ASSIGN_OR_RETURN(std::string lt, LinkTarget(lp));
    BERTH_ASSIGN_OR_RETURN(std::string ut, LinkTarget(up));
    return lt != ut;
  }
  if (S_ISREG(us.st_mode) && us.st_mtim.tv_nsec == 0) {
    BERTH_ASSIGN_OR_RETURN(bool same, SameContent(lp, up, us.st_size));
    return !same;
  }
  return false;
}

// Two full trees: added and changed entries from `upper`, whiteouts for what only `lower` has.
absl::Status WalkPlain(TarWriter& tar, const std::string& lower, const std::string& upper,
                       const std::string& rel) {
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> lnames, SortedNames(lower));
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> unames, SortedNames(upper));
  size_t i = 0, j = 0;
  while (i < lnames.size() || j < unames.size()) {
    bool take_lower = j == unames.size() || (i < lnames.size() && lnames[i] < unames[j]);
    bool take_upper = i == lnames.size() || (j < unames.size() && unames[j] < lnames[i]);
    if (take_lower) {
      BERTH_RETURN_IF_ERROR(tar.AddWhiteout(JoinPath(rel, ".wh." + lnames[i++])));
      continue;
    }
    const std::string& name = unames[j++];
    std::string up = Child(upper, name), child_rel = JoinPath(rel, name);
    BERTH_ASSIGN_OR_RETURN(struct stat us, Lstat(up));
    if (take_upper) {
      BERTH_RETURN_IF_ERROR(tar.AddPath(up, child_rel, us));
      if (S_ISDIR(us.st_mode)) BERTH_RETURN_IF_ERROR(AddTree(tar, up, child_rel));
      continue;
    }
    std::string lp = Child(lower, lnames[i++]);
    BERTH_ASSIGN_OR_RETURN(struct stat ls, Lstat(lp));
    bool both_dirs = S_ISDIR(ls.st_mode) && S_ISDIR(us.st_mode);
    bool same_type = (ls.st_mode & S_IFMT) == (us.st_mode & S_IFMT);
    bool changed = true;
    if (same_type) {
      BERTH_ASSIGN_OR_RETURN(changed, Changed(lp, ls, up, us));
    }
    if (changed) BERTH_RETURN_IF_ERROR(tar.AddPath(up, child_rel, us));
    if (both_dirs) {
      BERTH_RETURN_IF_ERROR(WalkPlain(tar, lp, up, child_rel));
    } else if (S_ISDIR(us.st_mode)) {  // a directory replaced a file: all of it is new
      BERTH_RETURN_IF_ERROR(AddTree(tar, up, child_rel));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DiffResult> Diff(const std::string& lower_dir, const std::string& upper_dir,
                                Mode mode, const Writer& writer, const DiffOptions& options) {
  BERTH_ASSIGN_OR_RETURN(struct stat ust, Lstat(upper_dir));
  if (!S_ISDIR(ust.st_mode)) return absl::InvalidArgumentError(upper_dir + " is not a directory");
  TarWriter tar(writer, options.compression);
  BERTH_RETURN_IF_ERROR(tar.Open());
  if (mode == Mode::kOverlayUpper) {
    BERTH_RETURN_IF_ERROR(Annotate(WalkUpper(tar, upper_dir, ""), "diff overlay upper"));
  } else {
    BERTH_ASSIGN_OR_RETURN(struct stat lst, Lstat(lower_dir));
    if (!S_ISDIR(lst.st_mode)) {
      return absl::InvalidArgumentError(lower_dir + " is not a directory");
    }
    BERTH_RETURN_IF_ERROR(Annotate(WalkPlain(tar, lower_dir, upper_dir, ""), "diff trees"));
  }
  return tar.Close();
}

}  // namespace berth::diff
