#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "plugins/diff/safe_fs.h"

namespace berth::diff::internal {
namespace {

constexpr size_t kMaxPath = 4096;

// openat2 is missing on kernels < 5.6 (and in some seccomp sandboxes): remember and fall back.
std::atomic<bool> g_openat2_unavailable{false};

absl::Status ResolveError(int err, const std::string& rel) {
  switch (err) {
    case ELOOP:
    case ENOTDIR:
    case EXDEV:
      return absl::InvalidArgumentError(
          absl::StrCat("parent \"", rel, "\" is a symlink, not a directory, or escapes the root"));
    case ENOENT:
      return absl::NotFoundError(absl::StrCat("\"", rel, "\" does not exist"));
    default:
      return ErrnoStatus(err, absl::StrCat("open \"", rel, "\""));
  }
}

// One component at a time, O_NOFOLLOW: a symlink component fails with ENOTDIR/ELOOP.
absl::StatusOr<Fd> WalkBeneath(int root_fd, const std::string& rel, bool create,
                               const OnCreateDir& on_create) {
  Fd cur(::openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!cur.valid()) return ErrnoStatus("open root");
  if (rel.empty()) return cur;
  std::string walked;
  for (absl::string_view comp : absl::StrSplit(rel, '/')) {
    std::string name(comp);
    walked = JoinPath(walked, name);
    int fd = ::openat(cur.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(cur.get(), name.c_str(), 0755) == 0) {
        if (on_create) BERTH_RETURN_IF_ERROR(on_create(cur.get(), name, walked));
      } else if (errno != EEXIST) {
        return ErrnoStatus(absl::StrCat("mkdir \"", walked, "\""));
      }
      fd = ::openat(cur.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) return ResolveError(errno, walked);
    cur = Fd(fd);
  }
  return cur;
}

}  // namespace

void DisableOpenat2ForTest(bool disable) { g_openat2_unavailable = disable; }

void Fd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

absl::StatusOr<std::string> CleanEntryPath(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("empty path");
  if (name.size() > kMaxPath) return absl::InvalidArgumentError("path too long");
  if (name.front() == '/') return absl::InvalidArgumentError("absolute path");
  std::string out;
  out.reserve(name.size());
  for (absl::string_view comp : absl::StrSplit(name, '/')) {
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") return absl::InvalidArgumentError("path has a \"..\" component");
    if (!out.empty()) out.push_back('/');
    out.append(comp.data(), comp.size());
  }
  return out;
}

std::pair<std::string, std::string> SplitPath(const std::string& clean) {
  size_t slash = clean.rfind('/');
  if (slash == std::string::npos) return {"", clean};
  return {clean.substr(0, slash), clean.substr(slash + 1)};
}

std::string JoinPath(const std::string& parent, const std::string& name) {
  if (parent.empty()) return name;
  return absl::StrCat(parent, "/", name);
}

absl::StatusOr<Fd> OpenDirBeneath(int root_fd, const std::string& rel, bool create,
                                  const OnCreateDir& on_create) {
  if (!rel.empty() && !g_openat2_unavailable) {
    struct open_how how = {};
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = ::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof(how));
    if (fd >= 0) return Fd(static_cast<int>(fd));
    int err = errno;
    if (err == ENOSYS || err == EPERM) {
      g_openat2_unavailable = true;  // seccomp may answer EPERM for unknown syscalls
    } else if (err == EAGAIN || (err == ENOENT && create)) {
      // EAGAIN: a concurrent rename; ENOENT: create the missing parents. The walk decides.
    } else {
      return ResolveError(err, rel);
    }
  }
  return WalkBeneath(root_fd, rel, create, on_create);
}

absl::StatusOr<Fd> ReopenDir(int dir_fd) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open directory");
  return Fd(fd);
}

namespace {

// Names in a directory, without "." and "..". Consumes `dir` (an O_RDONLY directory fd).
absl::StatusOr<std::vector<std::string>> ListDir(Fd dir) {
  int raw = dir.Release();
  DIR* d = ::fdopendir(raw);
  if (d == nullptr) {
    int err = errno;
    ::close(raw);
    return ErrnoStatus(err, "fdopendir");
  }
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* de = ::readdir(d)) {
    absl::string_view n(de->d_name);
    if (n != "." && n != "..") names.emplace_back(n);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return ErrnoStatus(err, "readdir");
  return names;
}

absl::Status RemoveContents(int dir_fd, int depth) {
  if (depth > 4096) return absl::InvalidArgumentError("directory tree too deep");
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open directory");
  Fd owned(fd);
  int dup_fd = ::dup(fd);
  if (dup_fd < 0) return ErrnoStatus("dup");
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(Fd(dup_fd)));
  for (const std::string& name : names) {
    struct stat st;
    if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return ErrnoStatus(absl::StrCat("stat ", name));
    }
    if (S_ISDIR(st.st_mode)) {
      Fd child(::openat(fd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child.valid()) return ErrnoStatus(absl::StrCat("open ", name));
      BERTH_RETURN_IF_ERROR(RemoveContents(child.get(), depth + 1));
      if (::unlinkat(fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
        return ErrnoStatus(absl::StrCat("rmdir ", name));
      }
    } else if (::unlinkat(fd, name.c_str(), 0) != 0 && errno != ENOENT) {
      return ErrnoStatus(absl::StrCat("unlink ", name));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RemoveAt(int dir_fd, const std::string& name) {
  if (::unlinkat(dir_fd, name.c_str(), 0) == 0 || errno == ENOENT) return absl::OkStatus();
  if (errno != EISDIR && errno != EPERM) return ErrnoStatus(absl::StrCat("unlink ", name));
  Fd child(::openat(dir_fd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!child.valid()) return ErrnoStatus(absl::StrCat("open ", name));
  BERTH_RETURN_IF_ERROR(RemoveContents(child.get(), 0));
  if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return ErrnoStatus(absl::StrCat("rmdir ", name));
  }
  return absl::OkStatus();
}

absl::Status RemoveChildrenExcept(int dir_fd, const std::string& dir_rel,
                                  const std::unordered_set<std::string>& keep) {
  BERTH_ASSIGN_OR_RETURN(Fd readable, ReopenDir(dir_fd));
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(std::move(readable)));
  for (const std::string& name : names) {
    std::string rel = JoinPath(dir_rel, name);
    if (!keep.count(rel)) {
      BERTH_RETURN_IF_ERROR(RemoveAt(dir_fd, name));
      continue;
    }
    Fd child(::openat(dir_fd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (child.valid()) BERTH_RETURN_IF_ERROR(RemoveChildrenExcept(child.get(), rel, keep));
  }
  return absl::OkStatus();
}

}  // namespace berth::diff::internal
