#include "snapshotter/fsutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/mount/mountinfo.h"
#include "core/status.h"
#include "core/status_macros.h"

namespace berth::snapshotter {
namespace {

using InodeKey = std::pair<dev_t, ino_t>;

}  // namespace

absl::StatusOr<std::vector<std::string>> ReadDirNames(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus(absl::StrCat("open directory ", dir));
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return ErrnoStatus(err, absl::StrCat("read directory ", dir));
  return names;
}

namespace {

absl::Status UsageWalk(const std::string& path, dev_t dev, std::set<InodeKey>& seen,
                       snapshotter::Usage& usage) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return ErrnoStatus(absl::StrCat("stat ", path));
  if (seen.insert({st.st_dev, st.st_ino}).second) {
    usage.inodes++;
    usage.size += static_cast<int64_t>(st.st_blocks) * 512;
  }
  if (!S_ISDIR(st.st_mode) || st.st_dev != dev) return absl::OkStatus();
  BERTH_ASSIGN_OR_RETURN(auto names, ReadDirNames(path));
  for (const auto& n : names) {
    BERTH_RETURN_IF_ERROR(UsageWalk(absl::StrCat(path, "/", n), dev, seen, usage));
  }
  return absl::OkStatus();
}

absl::Status CopyXattrs(const std::string& src, const std::string& dst) {
  ssize_t len = ::llistxattr(src.c_str(), nullptr, 0);
  if (len < 0) {
    if (errno == ENOTSUP) return absl::OkStatus();
    return ErrnoStatus(absl::StrCat("list xattrs of ", src));
  }
  std::string names(static_cast<size_t>(len), '\0');
  len = ::llistxattr(src.c_str(), names.data(), names.size());
  if (len < 0) return ErrnoStatus(absl::StrCat("list xattrs of ", src));
  names.resize(static_cast<size_t>(len));
  for (size_t pos = 0; pos < names.size();) {
    std::string name = names.c_str() + pos;
    pos += name.size() + 1;
    ssize_t vlen = ::lgetxattr(src.c_str(), name.c_str(), nullptr, 0);
    if (vlen < 0) return ErrnoStatus(absl::StrCat("get xattr ", name, " of ", src));
    std::string value(static_cast<size_t>(vlen), '\0');
    vlen = ::lgetxattr(src.c_str(), name.c_str(), value.data(), value.size());
    if (vlen < 0) return ErrnoStatus(absl::StrCat("get xattr ", name, " of ", src));
    if (::lsetxattr(dst.c_str(), name.c_str(), value.data(), static_cast<size_t>(vlen), 0) != 0) {
      // user.* xattrs are not allowed on symlinks and device nodes: the kernel never had them.
      if (errno == EPERM && name.rfind("user.", 0) == 0) continue;
      return ErrnoStatus(absl::StrCat("set xattr ", name, " on ", dst));
    }
  }
  return absl::OkStatus();
}

// Owner, mode, xattrs, times — in that order: chown clears setuid bits, so chmod follows it.
absl::Status CopyMetadata(const std::string& src, const std::string& dst, const struct stat& st) {
  if (::lchown(dst.c_str(), st.st_uid, st.st_gid) != 0) {
    return ErrnoStatus(absl::StrCat("chown ", dst));
  }
  if (!S_ISLNK(st.st_mode) && ::chmod(dst.c_str(), st.st_mode & 07777) != 0) {
    return ErrnoStatus(absl::StrCat("chmod ", dst));
  }
  BERTH_RETURN_IF_ERROR(CopyXattrs(src, dst));
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(absl::StrCat("set times of ", dst));
  }
  return absl::OkStatus();
}

absl::Status CopyFileData(const std::string& src, const std::string& dst, const struct stat& st) {
  int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (in < 0) return ErrnoStatus(absl::StrCat("open ", src));
  int out = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (out < 0) {
    int err = errno;
    ::close(in);
    return ErrnoStatus(err, absl::StrCat("create ", dst));
  }
  absl::Status status;
  off_t remaining = st.st_size;
  bool use_copy_range = true;
  char buf[65536];
  while (remaining > 0) {
    ssize_t n;
    if (use_copy_range) {
      n = ::copy_file_range(in, nullptr, out, nullptr, static_cast<size_t>(remaining), 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
        use_copy_range = false;
        continue;
      }
    } else {
      n = ::read(in, buf, sizeof(buf));
      if (n > 0) {
        for (ssize_t off = 0; off < n;) {
          ssize_t w = ::write(out, buf + off, static_cast<size_t>(n - off));
          if (w < 0) {
            if (errno == EINTR) continue;
            n = -1;
            break;
          }
          off += w;
        }
      }
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      status = ErrnoStatus(absl::StrCat("copy ", src, " to ", dst));
      break;
    }
    if (n == 0) break;  // file shrank under us
    remaining -= n;
  }
  ::close(in);
  if (::close(out) != 0 && status.ok()) status = ErrnoStatus(absl::StrCat("close ", dst));
  return status;
}

absl::Status CopyEntry(const std::string& src, const std::string& dst,
                       std::map<InodeKey, std::string>& links);

absl::Status CopyTree(const std::string& src, const std::string& dst,
                      std::map<InodeKey, std::string>& links) {
  BERTH_ASSIGN_OR_RETURN(auto names, ReadDirNames(src));
  for (const auto& n : names) {
    BERTH_RETURN_IF_ERROR(CopyEntry(absl::StrCat(src, "/", n), absl::StrCat(dst, "/", n), links));
  }
  return absl::OkStatus();
}

absl::Status CopyEntry(const std::string& src, const std::string& dst,
                       std::map<InodeKey, std::string>& links) {
  struct stat st;
  if (::lstat(src.c_str(), &st) != 0) return ErrnoStatus(absl::StrCat("stat ", src));
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
    auto it = links.find({st.st_dev, st.st_ino});
    if (it != links.end()) {
      if (::link(it->second.c_str(), dst.c_str()) != 0) {
        return ErrnoStatus(absl::StrCat("link ", dst));
      }
      return absl::OkStatus();
    }
    links[{st.st_dev, st.st_ino}] = dst;
  }
  switch (st.st_mode & S_IFMT) {
    case S_IFDIR:
      if (::mkdir(dst.c_str(), 0700) != 0) return ErrnoStatus(absl::StrCat("mkdir ", dst));
      BERTH_RETURN_IF_ERROR(CopyTree(src, dst, links));
      break;  // metadata after the contents, so the copied mtime survives
    case S_IFREG:
      BERTH_RETURN_IF_ERROR(CopyFileData(src, dst, st));
      break;
    case S_IFLNK: {
      std::vector<char> target(static_cast<size_t>(st.st_size) + 1);
      ssize_t n = ::readlink(src.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoStatus(absl::StrCat("readlink ", src));
      std::string t(target.data(), static_cast<size_t>(n));
      if (::symlink(t.c_str(), dst.c_str()) != 0) {
        return ErrnoStatus(absl::StrCat("symlink ", dst));
      }
      break;
    }
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
    case S_IFSOCK:
      if (::mknod(dst.c_str(), st.st_mode, st.st_rdev) != 0) {
        return ErrnoStatus(absl::StrCat("mknod ", dst));
      }
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("copy ", src, ": unknown file type"));
  }
  return CopyMetadata(src, dst, st);
}

}  // namespace

absl::StatusOr<snapshotter::Usage> DiskUsage(const std::string& root) {
  struct stat st;
  if (::lstat(root.c_str(), &st) != 0) return ErrnoStatus(absl::StrCat("stat ", root));
  std::set<InodeKey> seen;
  snapshotter::Usage usage;
  BERTH_RETURN_IF_ERROR(UsageWalk(root, st.st_dev, seen, usage));
  return usage;
}

absl::Status CopyDir(const std::string& src, const std::string& dst) {
  struct stat st;
  if (::lstat(src.c_str(), &st) != 0) return ErrnoStatus(absl::StrCat("stat ", src));
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("copy ", src, ": not a directory"));
  }
  std::map<InodeKey, std::string> links;
  BERTH_RETURN_IF_ERROR(CopyTree(src, dst, links));
  return CopyMetadata(src, dst, st);
}

absl::Status RemoveTreeIfUnmounted(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(absl::StrCat("stat ", path));
  }
  BERTH_ASSIGN_OR_RETURN(auto mounts, mount::ListMountsUnder(path));
  if (!mounts.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("remove ", path, ": ", mounts.front().mount_point, " is still mounted"));
  }
  return fs::RemoveAll(path);
}

}  // namespace berth::snapshotter
